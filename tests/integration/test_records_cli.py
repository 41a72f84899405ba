"""The records CLI: import with a dry run, export, the expiry watch."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Material
from parkgate.cli import main
from tests.factories import make_world


def test_import_dry_run_then_real_then_export(app, session_factory, tmp_path):
    make_world(session_factory)
    source = tmp_path / "gb12268.csv"
    source.write_text("un_number,name_zh,name_en,class,subsidiary_risks,packing_group\n"
                      "UN1090,丙酮,ACETONE,3,,II\nUN1114,苯,BENZENE,3,,II\n", encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(main, ["records", "import", "materials", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 new" in dry.output and "dry run" in dry.output
    with session_factory() as s:
        before = s.scalar(select(func.count()).select_from(Material))
    real = runner.invoke(main, ["records", "import", "materials", str(source)])
    assert real.exit_code == 0, real.output
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Material)) == before + 2
    out = tmp_path / "materials.csv"
    export = runner.invoke(main, ["records", "export", "materials", "-o", str(out)])
    assert export.exit_code == 0
    assert "丙酮" in out.read_text(encoding="utf-8")


def test_bad_file_exits_non_zero_and_names_rows(app, session_factory, tmp_path):
    make_world(session_factory)
    source = tmp_path / "bad.csv"
    source.write_text("un_number,name_zh,class\nUN10,丙酮,3\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(main, ["records", "import", "materials", str(source)])
    assert result.exit_code == 1
    assert "row 1: un_number" in result.output


def test_expiry_watch_command(app, session_factory):
    make_world(session_factory)
    result = app.test_cli_runner().invoke(main, ["records", "expiry-watch", "--days", "400"])
    assert result.exit_code == 0, result.output
    assert "expiring within 400 days" in result.output
