"""Modality kinds: what every layer outside a model's core needs to know about a modality, chosen per kind through
``KINDS`` (``image``, ``text``, ``sentence``; a new kind is one registered class, here one module each).

A ``ModalitySpec`` says a modality's kind, its stored per-item shape and, for token kinds, what its tokens stand
for (text: an alphabet of characters; sentences: a vocabulary of words). A kind converts between the three forms a
modality takes:

- stored (what datasets hold and what a generation becomes when it is kept): images uint8 (N, C, H, W) on the
  0..255 grid, text uint8 (N, L) token indices into the alphabet, sentences int16 (N, L) into the vocabulary;
- model inputs and outputs (float): images (B, C, H, W) in [0, 1], text and sentences (B, L, V) one-hot rows (a
  model outputs per-position probabilities);
- what metrics read (``for_metrics``): a generation as it would be stored, back in model form (images quantised
  to the uint8 grid, tokens as the one-hot of their argmax), so that classifiers and feature extractors never see
  values a stored sample could not have;

and draws a modality as an RGB picture for the sample grids (text and sentences rendered as their characters).
"""

from bench.data.kinds.base import KINDS, ModalityKind, ModalitySpec, quantize, text_picture
from bench.data.kinds.image import ImageKind
from bench.data.kinds.sentence import SentenceKind, words_of
from bench.data.kinds.text import TextKind, decode, encode

__all__ = ["KINDS", "ImageKind", "ModalityKind", "ModalitySpec", "SentenceKind", "TextKind", "decode", "encode",
           "quantize", "text_picture", "words_of"]
