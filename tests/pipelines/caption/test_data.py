"""Captioned images from Flickr8k, COCO JSON, CSV/TSV, TFDS coco_captions (offline) and generated scenes,
grouped by image, split by image without leakage, with missing or bad images warned about or refused."""

import json
import logging
import os

import numpy as np
import pytest

from rnnapps.datasets import images
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import data, reader, scenes

NO_SPLIT = dict(validation_fraction=0, test_fraction=0)
VIETNAMESE = "Một con chó đang chạy trên bãi biển ."


def read(source, seed=0, **settings):
    return reader.read_splits(data.CaptionDataConfig(source=str(source), **settings), seed)


@pytest.fixture(scope="module")
def png():
    return images.encode_png(np.full((4, 4, 3), 90, dtype=np.uint8))


def write_images(folder, names, content):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(content)


def by_name(examples):
    return dict(zip(examples.names, examples.captions))


# --------------------------------------------------------------------------- Flickr8k


@pytest.fixture
def flickr8k(tmp_path, png):
    """The Flickr8k zip layout: Flickr8k_text/ with the token file and split lists beside Flicker8k_Dataset/."""
    text = tmp_path / "Flickr8k_text"
    text.mkdir()
    names = [f"{100 + i}_ab{i}.jpg" for i in range(7)]
    lines = [f"{name}#{k}\t{'A dog' if k % 2 else 'a CAT'} number {i}, caption {k} \n"
             for i, name in enumerate(names) for k in range(5)]
    lines[2] = f"{names[0]}#2\t {VIETNAMESE}\r\n"  # any script, CRLF, surrounding spaces
    (text / "Flickr8k.token.txt").write_text("".join(lines), encoding="utf-8")
    (text / "Flickr_8k.trainImages.txt").write_text("\n".join(names[:3]) + "\n")
    (text / "Flickr_8k.devImages.txt").write_text(names[3] + "\n")
    (text / "Flickr_8k.testImages.txt").write_text("\n".join(names[4:6]) + "\n")  # names[6] is in no list
    write_images(tmp_path / "Flicker8k_Dataset", names, png)
    return tmp_path, names


def test_flickr8k_folder_with_split_lists(flickr8k):
    root, names = flickr8k
    found = read(root / "Flickr8k_text")
    assert (found.train.names, found.validation.names, found.test.names) == (names[:3], [names[3]], names[4:6])
    assert found.train.images == [os.path.abspath(root / "Flicker8k_Dataset" / name) for name in names[:3]]
    first = found.train.captions[0]
    assert len(first) == 5 and all(len(references) == 5 for references in found.test.captions)
    assert first[:3] == ["a CAT number 0, caption 0", "A dog number 0, caption 1", VIETNAMESE]  # case kept


def test_flickr8k_token_file_without_lists_is_split_by_fraction(flickr8k, png):
    root, names = flickr8k
    for split in ("train", "dev", "test"):
        (root / "Flickr8k_text" / f"Flickr_8k.{split}Images.txt").unlink()
    found = read(root / "Flickr8k_text" / "Flickr8k.token.txt", validation_fraction=0.2, test_fraction=0.2)
    assert sorted(found.train.names + found.validation.names + found.test.names) == sorted(names)
    assert len(found.test) >= 1 and len(found.validation) >= 1


def test_flickr8k_explicit_lists_and_image_dir(flickr8k, tmp_path, png):
    root, names = flickr8k
    write_images(tmp_path / "elsewhere", names, png)
    (tmp_path / "held.txt").write_text(f"{names[0]}\n{names[1]}\n")
    found = read(root / "Flickr8k_text", test_list=str(tmp_path / "held.txt"), image_dir=str(tmp_path / "elsewhere"),
                 validation_fraction=0)
    # A test list alone turns the Flickr8k lists off: every other image trains.
    assert found.test.names == names[:2] and found.train.names == names[2:] and len(found.validation) == 0
    assert found.test.images[0] == os.path.abspath(tmp_path / "elsewhere" / names[0])


def test_flickr8k_line_without_tab(tmp_path):
    path = tmp_path / "Flickr8k.token.txt"
    path.write_text("a.jpg#0\tfine\nb.jpg#0 no tab here\n")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"{path} line 2: expected IMAGE#N<TAB>caption, found no tab"


def test_image_in_two_split_lists(flickr8k):
    root, names = flickr8k
    (root / "Flickr8k_text" / "Flickr_8k.devImages.txt").write_text(names[0] + "\n")
    with pytest.raises(UserError) as error:
        read(root / "Flickr8k_text")
    assert str(error.value) == (f"{root / 'Flickr8k_text' / 'Flickr_8k.devImages.txt'} line 1: image {names[0]!r} is "
                                "also in the train list; an image may be in one split only")


# --------------------------------------------------------------------------- COCO JSON


def test_coco_json_groups_captions_and_finds_the_image_folder(tmp_path, png):
    (tmp_path / "annotations").mkdir()
    image_list = [{"id": 7, "file_name": "COCO_val2014_7.jpg"}, {"id": 3, "file_name": "COCO_val2014_3.jpg"},
                  {"id": 9, "file_name": "COCO_val2014_9.jpg"}]  # 9 has no caption
    annotations = [{"image_id": 3, "id": 1, "caption": "A man riding a horse.\n"},
                   {"image_id": 7, "id": 2, "caption": " Two zebras. "},
                   {"image_id": 3, "id": 3, "caption": "Someone on horseback"},
                   {"image_id": 7, "id": 4, "caption": "   "}]  # blank: skipped
    path = tmp_path / "annotations" / "captions_val2014.json"
    path.write_text(json.dumps({"info": {}, "images": image_list, "annotations": annotations}), encoding="utf-8")
    write_images(tmp_path / "val2014", ["COCO_val2014_7.jpg", "COCO_val2014_3.jpg"], png)
    found = read(path, **NO_SPLIT)
    assert found.train.names == ["COCO_val2014_7.jpg", "COCO_val2014_3.jpg"]
    assert found.train.captions == [["Two zebras."], ["A man riding a horse.", "Someone on horseback"]]
    assert found.train.images[1] == os.path.abspath(tmp_path / "val2014" / "COCO_val2014_3.jpg")


def test_coco_json_bad_reference(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                "annotations": [{"image_id": 2, "caption": "x"}]}))
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == (f"{path}: annotations[0] refers to image_id 2, which is not among \"images\"")


# --------------------------------------------------------------------------- CSV / TSV


def test_csv_with_header_kaggle_captions_txt(tmp_path, png):
    write_images(tmp_path / "Images", ["1.jpg", "2.jpg"], png)
    path = tmp_path / "captions.txt"  # Kaggle's Flickr8k: a CSV named .txt
    path.write_text('image,caption\n1.jpg,"A dog, wet, runs ."\n2.jpg,A bird\n1.jpg,A dog runs\n', encoding="utf-8")
    found = read(path, image_dir=str(tmp_path / "Images"), **NO_SPLIT)
    assert by_name(found.train) == {"1.jpg": ["A dog, wet, runs .", "A dog runs"], "2.jpg": ["A bird"]}
    assert found.train.pairs() == ([found.train.images[0]] * 2 + [found.train.images[1]],
                                   ["A dog, wet, runs .", "A dog runs", "A bird"])


def test_tsv_without_header_and_vietnamese_round_trip(tmp_path, png):
    write_images(tmp_path / "pics", ["chó.png", "mèo.png"], png)
    path = tmp_path / "captions.tsv"
    path.write_text(f"x\tpics/chó.png\t  {VIETNAMESE}  \nx\tpics/mèo.png\tcon mèo\n", encoding="utf-8")
    found = read(path, header=False, image_column=1, caption_column="2", **NO_SPLIT)
    assert by_name(found.train) == {"pics/chó.png": [VIETNAMESE], "pics/mèo.png": ["con mèo"]}
    assert found.train.images[0] == os.path.abspath(tmp_path / "pics" / "chó.png")


def test_csv_column_errors(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("file,text\na.png,hello\n")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"{path}: no column 'image' for data.image_column; the header has ['file', 'text']"
    path.write_text("a.png,hello\nb.png\n")
    with pytest.raises(UserError) as error:
        read(path, header=False, image_column=0, caption_column=1)
    assert str(error.value) == (f"{path} line 2: expected at least 2 columns (image in column 0, caption in column 1), "
                                "found 1")


def test_written_scenes_read_back_as_tsv(tmp_path):
    path = scenes.write_scenes(tmp_path / "toy", 4, scenes.SceneConfig(seed=1))
    found = read(path, **NO_SPLIT)
    pictures, references = scenes.generate_scenes(4, scenes.SceneConfig(seed=1))
    assert found.train.captions == references
    np.testing.assert_allclose(images.load_image(found.train.images[2], 64), pictures[2] / 255, atol=1e-6)


# --------------------------------------------------------------------------- splits


def test_split_by_image_without_leakage(tmp_path, png):
    names = [f"{i}.png" for i in range(40)]
    write_images(tmp_path, names, png)
    path = tmp_path / "index.tsv"
    # Captions of one image are scattered over the file: grouping must not depend on order.
    rows = [f"{name}\t{name} caption {k}\n" for k in range(3) for name in names]
    path.write_text("image\tcaption\n" + "".join(rows))
    found = read(path, validation_fraction=0.2, test_fraction=0.1)
    parts = [found.train, found.validation, found.test]
    assert [len(part) for part in parts] == [28, 8, 4]
    seen = [set(part.names) for part in parts]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert set().union(*seen) == set(names)
    for part in parts:
        for name, references in by_name(part).items():
            assert references == [f"{name} caption {k}" for k in range(3)]
    again, other = read(path, validation_fraction=0.2, test_fraction=0.1), read(path, seed=1, validation_fraction=0.2,
                                                                               test_fraction=0.1)
    assert again.test.names == found.test.names and other.test.names != found.test.names
    assert len(read(path, max_images=10, **NO_SPLIT).train) == 10


# --------------------------------------------------------------------------- missing and bad images


@pytest.fixture
def partly_missing(tmp_path, png):
    names = [f"{i:02d}.jpg" for i in range(12)]
    write_images(tmp_path, names[:5], png)
    (tmp_path / names[5]).write_text("not an image")  # a text file named .jpg
    path = tmp_path / "index.csv"
    path.write_text("image,caption\n" + "".join(f"{name},caption of {name}\n" for name in names))
    return path, names


def test_missing_images_are_counted_and_warned_once(partly_missing, caplog):
    path, names = partly_missing
    with caplog.at_level(logging.WARNING, logger="rnnapps.pipelines.caption.reader"):
        found = read(path, **NO_SPLIT)
    assert found.train.names == names[:5]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    folder = path.parent
    assert message.startswith(f"skipped 7 of 12 images that are missing or unreadable: {folder / names[5]} is not a "
                              "JPEG, PNG, GIF, BMP, WEBP image: it starts with text b'not an image' | "
                              f"{folder / names[6]}: no such image file | ")
    assert message.endswith(f"{folder / names[9]}: no such image file | and 2 more (set data.strict = true to stop on "
                            "them instead)")
    assert names[10] not in message and "\n" not in message


def test_strict_refuses_the_first_bad_image(partly_missing):
    path, names = partly_missing
    with pytest.raises(UserError) as error:
        read(path, strict=True)
    assert str(error.value) == (f"{path.parent / names[5]} is not a JPEG, PNG, GIF, BMP, WEBP image: it starts with "
                                "text b'not an image' (data.strict = true; set it to false to skip missing or "
                                "unreadable images)")


def test_no_image_found_points_at_image_dir(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("image,caption\na.jpg,one\nb.jpg,two\n")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == (f"none of the 2 images of {path} could be read (e.g. {tmp_path / 'a.jpg'}: no such "
                                "image file); check data.image_dir (now its default)")


def test_verify_images_catches_truncation_after_the_header(tmp_path, png, caplog):
    tf = pytest.importorskip("tensorflow")
    cut = tf.io.encode_jpeg(np.zeros((32, 32, 3), np.uint8)).numpy()[:400]
    write_images(tmp_path, ["good.png"], png)
    (tmp_path / "cut.jpg").write_bytes(cut)
    path = tmp_path / "index.csv"
    path.write_text("image,caption\ngood.png,one\ncut.jpg,two\n")
    assert read(path, **NO_SPLIT).train.names == ["good.png", "cut.jpg"]  # the header alone looks fine
    with caplog.at_level(logging.WARNING, logger="rnnapps.pipelines.caption.reader"):
        assert read(path, verify_images=True, **NO_SPLIT).train.names == ["good.png"]
    assert "cut.jpg: cannot decode the JPEG image" in caplog.records[0].getMessage()


# --------------------------------------------------------------------------- demo and TFDS


def test_demo_scenes():
    found = read("demo:scenes", demo_count=30, demo_seed=2, validation_fraction=0.2, test_fraction=0.1)
    assert (len(found.train), len(found.validation), len(found.test)) == (21, 6, 3)
    pictures, references = scenes.generate_scenes(30, scenes.SceneConfig(seed=2))
    index = int(found.test.names[0].removeprefix("scene_"))
    assert found.test.captions[0] == references[index]
    np.testing.assert_allclose(images.load_image(found.test.images[0], 64), pictures[index] / 255, atol=1e-6)


def test_demo_settings_are_named_as_recipe_fields():
    with pytest.raises(UserError) as error:
        read("demo:scenes", demo_jitter=0.9)
    assert str(error.value) == "data.demo_jitter = 0.9: expected a number from 0 to 0.5"
    with pytest.raises(UserError) as error:
        read("demo:pictures")
    assert str(error.value) == "unknown demo dataset 'demo:pictures'; known: demo:scenes"


def test_unknown_format(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just words\n")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == (f"data.source = {str(path)!r}: cannot tell its format from the name; set data.format "
                                "to one of flickr8k, coco, csv, tsv, tfds, demo")


COCO_SIZES = {"train": 3, "restval": 2, "val": 2, "test": 1}


@pytest.fixture
def mocked_coco(tmp_path):
    """coco_captions mocked offline: split metadata on disk and examples whose captions say their split.
    Like TFDS, the image is JPEG bytes when decoding is skipped, pixels otherwise."""
    tfds = pytest.importorskip("tensorflow_datasets")
    tf = pytest.importorskip("tensorflow")
    builder = tfds.builder("coco_captions", data_dir=str(tmp_path))
    info = builder.info
    info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(name=name, shard_lengths=[count], num_bytes=0)
                                         for name, count in COCO_SIZES.items()]))
    os.makedirs(builder.data_dir, exist_ok=True)
    info.write_to_directory(builder.data_dir)
    pixels = np.full((6, 5, 3), 40, dtype=np.uint8)
    encoded = tf.io.encode_jpeg(pixels).numpy()

    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        count = COCO_SIZES[str(split)]
        skip = bool(decoders) and "image" in decoders
        return tf.data.Dataset.from_tensor_slices({
            "image": [encoded] * count if skip else np.stack([pixels] * count),
            "image/filename": [f"COCO_{split}_{i}.jpg" for i in range(count)],
            "captions": {"text": [[f" {split} {i} first ", f"{split} {i} second"] for i in range(count)],
                         "id": [[2 * i, 2 * i + 1] for i in range(count)]},
        })

    with tfds.testing.mock_data(data_dir=str(tmp_path), as_dataset_fn=as_dataset):
        yield encoded


def test_tfds_coco_captions_offline(mocked_coco):
    found = read("tfds:coco_captions")
    # Karpathy splits: train + restval train, val validates, test tests.
    assert found.train.names == [f"COCO_train_{i}.jpg" for i in range(3)] + [f"COCO_restval_{i}.jpg" for i in range(2)]
    assert found.validation.names == ["COCO_val_0.jpg", "COCO_val_1.jpg"] and found.test.names == ["COCO_test_0.jpg"]
    assert found.validation.captions[1] == ["val 1 first", "val 1 second"]
    assert found.test.images == [mocked_coco]  # the dataset's own JPEG bytes, not decoded
    assert images.load_image(found.test.images[0], 4).shape == (4, 4, 3)


def test_tfds_max_images_reads_only_the_first(mocked_coco):
    found = read("tfds:coco_captions", max_images=2)
    assert found.train.names == ["COCO_train_0.jpg", "COCO_train_1.jpg"]
    assert (len(found.validation), len(found.test)) == (2, 1)


def test_evaluation_reads_every_image_of_another_source_and_the_recipes_own_test_split(tmp_path, png):
    names = [f"{i}.png" for i in range(10)]
    write_images(tmp_path, names, png)
    path = tmp_path / "index.csv"
    path.write_text("image,caption\n" + "".join(f"{name},caption {name}\n" for name in names))
    config = data.CaptionDataConfig(source="demo:scenes", demo_count=20, test_fraction=0.2, train_list="x.txt")
    assert reader.evaluation_examples(config, 0, str(path)).names == names  # nothing held out, no lists
    assert reader.evaluation_examples(config, 0, None).names == read("demo:scenes", demo_count=20,
                                                                    test_fraction=0.2).test.names
