"""What the planner sees: the web map, its layers and legend, static maps, colours, lines of words."""
