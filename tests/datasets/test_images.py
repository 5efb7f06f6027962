"""Image loading: good images in every layout become [size, size, 3] floats in [0, 1]; bad files become
one-line errors naming the file, and huge images are refused from their header before decoding."""

import struct
import zlib

import numpy as np
import pytest

from rnnapps.datasets import images
from rnnapps.errors import UserError

tf = pytest.importorskip("tensorflow")

RED = (200, 30, 40)


def solid(height, width, colour=RED, channels=3):
    return np.broadcast_to(np.array(colour[:channels], dtype=np.uint8), (height, width, channels)).copy()


def jpeg(image):
    return tf.io.encode_jpeg(image, quality=95).numpy()


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png(width=10_000, height=10_000):
    """A PNG whose header says width x height, with a few bytes of pixel data: decoding it would fail
    (or take gigabytes), so only a header check can give the size message."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def patched_jpeg_size(data, height, width):
    """A real JPEG with its start-of-frame size changed."""
    at = data.index(b"\xff\xc0")
    return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]


def one_line_error(call, *args, **kwargs):
    with pytest.raises(UserError) as error:
        call(*args, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- good images


def test_jpeg_file_loads_resized_in_unit_range(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg(solid(30, 50)))
    loaded = images.load_image(path, 16)
    assert loaded.shape == (16, 16, 3) and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded.mean(axis=(0, 1)), np.array(RED) / 255, atol=0.03)
    assert images.read_image_info(path) == images.ImageInfo("jpeg", 30, 50)


def test_one_pixel_image_is_valid_and_resized():
    loaded = images.load_image(images.encode_png(solid(1, 1, (10, 200, 30))), 8)
    assert loaded.shape == (8, 8, 3)
    np.testing.assert_allclose(loaded, np.broadcast_to(np.array([10, 200, 30]) / 255, (8, 8, 3)), atol=1e-6)


def test_grayscale_png_becomes_three_equal_channels():
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4
    loaded = images.load_image(images.encode_png(gray), 8)
    assert loaded.shape == (8, 8, 3)
    np.testing.assert_allclose(loaded[..., 0], gray[..., 0] / 255, atol=1e-6)
    assert np.array_equal(loaded[..., 0], loaded[..., 1]) and np.array_equal(loaded[..., 1], loaded[..., 2])


def test_rgba_png_drops_alpha():
    rgba = solid(6, 6, (*RED, 0), channels=4)  # fully transparent: the colour is kept, alpha dropped
    loaded = images.load_image(images.encode_png(rgba), 6)
    assert loaded.shape == (6, 6, 3)
    np.testing.assert_allclose(loaded[0, 0], np.array(RED) / 255, atol=1e-6)
    assert images.check_image(images.encode_png(rgba)) == images.ImageInfo("png", 6, 6)


def test_jpeg_size_found_after_a_large_exif_segment():
    data = jpeg(solid(12, 34))
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 40_000) + b"Exif\0\0" + b"\xff" * (40_000 - 6)
    with_exif = data[:2] + app1 + data[2:]
    assert images.read_image_info(with_exif) == images.ImageInfo("jpeg", 12, 34)
    assert images.load_image(with_exif, 4).shape == (4, 4, 3)


@pytest.mark.parametrize("format", ["GIF", "BMP", "WEBP"])
def test_other_formats_via_pillow(tmp_path, format):
    pil = pytest.importorskip("PIL.Image")
    path = tmp_path / f"image.{format.lower()}"
    pil.fromarray(solid(7, 9)).save(path, format=format, **({"lossless": True} if format == "WEBP" else {}))
    assert images.read_image_info(path) == images.ImageInfo(format.lower(), 7, 9)
    np.testing.assert_allclose(images.load_image(path, 4)[0, 0], np.array(RED) / 255, atol=0.02)


# --------------------------------------------------------------------------- bad files


def test_truncated_jpeg_passes_the_header_check_but_not_the_full_check(tmp_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg(solid(40, 40))[:300])
    assert images.read_image_info(path).format == "jpeg"  # the header is intact
    for call in (images.check_image, lambda p: images.load_image(p, 8)):
        message = one_line_error(call, path)
        assert message.startswith(f"{path}: cannot decode the JPEG image (")
        assert message.endswith("the file is truncated or corrupt, re-download or remove it")
        assert "{{" not in message and "[Op:" not in message


def test_jpeg_cut_inside_its_header(tmp_path):
    path = tmp_path / "stub.jpg"
    path.write_bytes(jpeg(solid(40, 40))[:12])
    assert one_line_error(images.read_image_info, path) == (
        f"{path}: the JPEG header is cut short or corrupt; re-download or remove the image")


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello, this is not a picture\n")
    assert one_line_error(images.load_image, path, 8) == (
        f"{path} is not a JPEG, PNG, GIF, BMP, WEBP image: it starts with text b'hello, this is n'")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert one_line_error(images.check_image, path) == f"{path} is empty (0 bytes); re-download or remove the image"


def test_missing_file_and_folder(tmp_path):
    assert one_line_error(images.load_image, tmp_path / "gone.jpg", 8) == f"{tmp_path / 'gone.jpg'}: no such image file"
    assert one_line_error(images.read_image_info, tmp_path) == f"{tmp_path} is a folder, not an image file"


@pytest.mark.parametrize("make", [huge_png, lambda: patched_jpeg_size(jpeg(solid(8, 8)), 10_000, 10_000)],
                         ids=["png", "jpeg"])
def test_huge_image_refused_from_its_header(tmp_path, make, monkeypatch):
    path = tmp_path / "huge.img"
    path.write_bytes(make())
    decoded = []
    with monkeypatch.context() as patched:  # no pixel of it is decoded (that could take gigabytes)
        patched.setattr(tf.io, "decode_image", lambda *args, **kwargs: decoded.append(args) or tf.zeros([1, 1, 3]))
        message = one_line_error(images.load_image, path, 8)
    assert not decoded, "the huge image went to the decoder: its header alone must refuse it"
    assert message == (f"{path}: 10000 x 10000 pixels (100.0 megapixels) is above the limit of 50 megapixels; "
                       "downscale the image (a few hundred pixels a side is plenty for captioning) or remove it")
    assert images.read_image_info(path, max_pixels=10**9).height == 10_000  # the limit is a parameter


def test_zero_size_header_and_bad_output_size():
    assert "gives a size of 0 x 5 pixels" in one_line_error(images.read_image_info, huge_png(0, 5), name="x.png")
    assert one_line_error(images.load_image, images.encode_png(solid(2, 2)), 0) == (
        "image size = 0: expected a whole number of pixels from 1 to 4096")


# --------------------------------------------------------------------------- in-graph decoding


def test_decode_and_resize_in_a_dataset_and_a_signature():
    encoded = [images.encode_png(solid(5, 9)), jpeg(solid(20, 10)), images.encode_png(solid(3, 3, (9,), 1))]
    dataset = tf.data.Dataset.from_tensor_slices(encoded).map(lambda data: images.decode_and_resize(data, 12))
    batch = next(iter(dataset.batch(3))).numpy()
    assert batch.shape == (3, 12, 12, 3) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[2], 9 / 255, atol=1e-6)  # grayscale repeated on three channels

    serve = tf.function(lambda data: images.decode_and_resize(data, 7),
                        input_signature=[tf.TensorSpec([], tf.string)])
    assert serve.get_concrete_function().structured_outputs.shape.as_list() == [7, 7, 3]
    assert serve(tf.constant(encoded[1])).shape == (7, 7, 3)


@pytest.mark.parametrize("data, expected", [
    (huge_png(), "megapixels"),
    (b"GIF89a" + struct.pack("<HH", 20_000, 5_000) + b"\0" * 20, "megapixels"),
    (b"just some text, not an image", "not a JPEG, PNG"),
], ids=["png", "gif", "text"])
def test_graph_refuses_huge_and_unknown_images_before_decoding(data, expected):
    serve = tf.function(lambda data: images.decode_and_resize(data, 8), input_signature=[tf.TensorSpec([], tf.string)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
        serve(tf.constant(data))


def test_graph_refuses_huge_jpeg():
    data = patched_jpeg_size(jpeg(solid(8, 8)), 9_000, 9_000)
    with pytest.raises(tf.errors.InvalidArgumentError, match="megapixels"):
        images.decode_and_resize(tf.constant(data), 8)


def test_graph_limit_is_a_parameter():
    data = jpeg(solid(30, 50))
    assert images.decode_and_resize(tf.constant(data), 4, max_pixels=1500).shape == (4, 4, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="limit of 0.001499 megapixels"):
        images.decode_and_resize(tf.constant(data), 4, max_pixels=1499)
    assert "(0.0 megapixels) is above the limit of 0.001 megapixels" in one_line_error(
        images.load_image, data, 4, max_pixels=1000)


def test_phone_heic_photo_gets_a_conversion_hint(tmp_path):
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40)
    assert one_line_error(images.read_image_info, path) == (
        f"{path} is a HEIF/AVIF image (brand 'heic'), which is not supported; convert it to JPEG or PNG")
