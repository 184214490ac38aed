"""CUB Image–Captions: Caltech-UCSD Birds images with ten captions each, as the MMVAE code distributes them
(iffsid/mmvae README; Shi et al. 2019, arXiv 1911.03393; the MLD paper, arXiv 2306.04445). Being built: so far the
caption vocabulary and tokenisation (``captions``), the reader of the real archive (``files``), the offline
stand-in's birds, captions and attribute labels (``standin``) and every model family's networks (``nets``); the
suite is not registered yet."""
