"""The embedded demo: a realistic park seeded relative to today, a simulated camera
and trucks that book, queue and get released."""

from pathlib import Path


def _register_scenes() -> None:
    # The camera simulator (camera_adapters) plays the demo's scenes by default.
    from camera_adapters.scenes import register_default

    def scenes() -> list[Path]:
        from .paths import camera_scenes

        return camera_scenes()[0]

    register_default(scenes)


_register_scenes()
