"""Where plate reads come from: frame sources, the plate reader, vendor ANPR formats."""
