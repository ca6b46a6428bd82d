"""Data for cnnkit: bundled data sets, loaders for your own data, device-resident batch
loading and batch augmentation.

- ``load_dataset(name, split)`` / ``list_datasets()``: ``mnist5k`` (5,000 MNIST digits),
  ``digits`` (1,797 8x8 digits), ``mnist1d`` (MNIST-1D), ``fortunes`` (six-topic text),
  ``go9`` / ``go19`` (GNU Go self-play positions), ``alsa_speech`` (16 kHz mu-law
  speech); shipped in the package, checked by SHA-256, nothing downloaded.
- ``text`` (tokenizer, ``Vocabulary``), ``go`` (SGF, rules, input planes), ``audio``
  (mu-law, resampling): the modules behind the text, Go and audio sets.
- ``as_dataset``, ``load_npz``, ``load_csv``, ``load_image_folder``: your own data as a
  ``Dataset`` (float32 ``x`` in [0, 1], int64 ``y``).
- ``load_data``: train and test splits from any of these sources (a bundled name, a
  path, a Dataset), checked for NaN, empty splits and a single class; ``data_identity``
  is what a run records to refuse other data on resume.
- ``BatchLoader``: a small data set on the device, batched by indexing, with
  reproducible per-epoch order; ``StreamingLoader`` for shards that do not fit.
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
from .dataset import DataFileError, Dataset, as_dataset, train_test_split
from .datasets import DatasetInfo, dataset_info, list_datasets, load_dataset
from .loader import (BatchLoader, ImageFolderShard, NpzShard, StreamingLoader,
                     image_folder_shards, seed_for)
from .source import check_fits, data_identity, load_data
from .sources import (IMAGE_EXTENSIONS, SkippedFilesWarning, load_csv, load_image_folder,
                      load_npz)

__all__ = [
    "IMAGE_EXTENSIONS", "Augmentation", "BatchLoader", "Compose", "DataFileError", "Dataset",
    "DatasetInfo", "ElasticDeform", "ImageFolderShard", "NpzShard", "RandomAffine",
    "RandomCrop", "RandomFlip", "RandomTranslate", "SkippedFilesWarning", "StreamingLoader",
    "as_dataset", "audio", "augment", "check_fits", "data_identity", "dataset_info", "go",
    "image_folder_shards", "list_datasets", "load_csv", "load_data", "load_dataset",
    "load_image_folder", "load_npz", "seed_for", "text", "train_test_split",
]
