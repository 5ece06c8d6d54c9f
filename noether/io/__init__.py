"""Files in and out: meshes and point arrays, the normalisation a model was trained with, pictures.

Needs the ``mesh`` extra (meshio, and vtk for ``.vtp``); pictures need ``plot`` (matplotlib).
Nothing here imports torch.
"""
