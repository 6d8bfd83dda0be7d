# meta-container-registry's Python, added by layer.conf (`addpylib ${LAYERDIR}/lib containerregistry`).
# BitBake imports the modules listed here and tracks the variables their functions read.
BBIMPORTS = ["variables", "settings", "helper", "labels"]
