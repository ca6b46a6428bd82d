"""Data for cnnkit: bundled data sets, loaders for your own data, device-resident batch
loading and batch augmentation.

- ``load_dataset(name, split)`` / ``list_datasets()``: ``mnist5k`` (5,000 MNIST digits),
  ``digits`` (1,797 8x8 digits), ``mnist1d`` (MNIST-1D), ``japanese_vowels`` (speech
  frames of nine speakers), scenes of real digits
  (``scenes_segment``, ``scenes_detect``, ``scenes_multilabel``), ``locate`` (where a
  digit is: regression), moving-digit clips (``clips_digit``, ``clips_motion``),
  ``fortunes`` (six-topic text), ``go9`` / ``go19`` (GNU Go self-play positions),
  ``alsa_speech`` (16 kHz mu-law speech); shipped in the package, checked by SHA-256,
  nothing downloaded.
- ``text`` (tokenizer, ``Vocabulary``), ``go`` (SGF, rules, input planes), ``audio``
  (mu-law, resampling): the modules behind the text, Go and audio sets.
- ``as_dataset``, ``load_npz``, ``load_csv``, ``load_image_folder``,
  ``load_segmentation_folder``, ``load_detection_folder``: your own data as a
  ``Dataset``: ``x`` with the values the source gave (8-bit / 255, 16-bit / 65535,
  floats kept) and ``y`` of one of the kinds of ``TARGETS`` (class, multilabel,
  regression, segmentation, detection), named by ``Dataset.target``.
- ``fit_channel_stats``: per-channel mean and standard deviation of a training set, for
  the normalisation at the front of a network.
- ``load_data``: train and test splits from any of these sources (a bundled name, a
  path, a Dataset), checked for NaN, empty splits and a single class; ``data_identity``
  is what a run records to refuse other data on resume.
- ``BatchLoader``: a small data set on the device, batched by indexing, with
  reproducible per-epoch order; ``StreamingLoader`` for shards that do not fit (``.tar``
  in the WebDataset layout, ``.npz``, chunks of an image folder), decoded by worker
  processes, each torchrun process reading its own shards; ``cnnkit.data.pack`` writes
  shard folders (``cnnkit data pack``), ``load_shards`` opens them.
- ``augment``: crop, translate, flip, affine and elastic deformation on whole batches.

Example:
    >>> from cnnkit import data
    >>> train = data.load_dataset("digits", "train")
    >>> loader = data.BatchLoader(train, batch_size=64, seed=0,
    ...                           transform=data.RandomTranslate(1))
    >>> xb, yb = next(iter(loader))
    >>> xb.shape, yb.dtype
    (torch.Size([64, 1, 8, 8]), torch.int64)
"""

from . import audio, augment, go, text
from .augment import (Augmentation, Compose, ElasticDeform, RandomAffine, RandomCrop,
                      RandomFlip, RandomTranslate)
from .annotated import load_detection_folder, load_segmentation_folder
from .dataset import DataFileError, Dataset, as_dataset, train_test_split
from .datasets import DatasetInfo, dataset_info, list_datasets, load_dataset
from .stats import fit_channel_stats
from .targets import IGNORE_INDEX, TARGETS, check_targets, infer_target
from .loader import BatchLoader, StreamingLoader, seed_for
from .shards import (ImageFolderShard, NpzShard, ShardedDataset, TarShard, image_folder_shards,
                     load_shards)
from .source import check_fits, data_identity, load_data
from .sources import (IMAGE_EXTENSIONS, SkippedFilesWarning, load_csv, load_image_folder,
                      load_npz)

__all__ = [
    "IGNORE_INDEX", "IMAGE_EXTENSIONS", "TARGETS", "Augmentation", "BatchLoader", "Compose",
    "DataFileError", "Dataset", "DatasetInfo", "ElasticDeform", "ImageFolderShard",
    "NpzShard", "RandomAffine", "RandomCrop", "RandomFlip", "RandomTranslate",
    "ShardedDataset", "SkippedFilesWarning", "StreamingLoader", "TarShard", "as_dataset", "audio", "augment", "check_fits",
    "check_targets", "data_identity", "dataset_info", "fit_channel_stats", "go",
    "image_folder_shards", "infer_target", "list_datasets", "load_csv", "load_data",
    "load_dataset", "load_detection_folder", "load_image_folder", "load_npz",
    "load_segmentation_folder", "load_shards", "seed_for", "text", "train_test_split",
]
