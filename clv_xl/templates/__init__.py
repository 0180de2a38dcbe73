"""The template workbooks finance receives (``templates/*.xlsx``), built reproducibly."""
