"""The IPython layer: magics, widgets and display. The only layer that imports IPython."""
