"""Image loading shared by training and prediction: a header check that turns bad files into one-line
errors naming the file, eager loading to float arrays, and an in-graph decoder for tf.data and SavedModels.

Supported formats are those `tf.io.decode_image` decodes and whose size can be read from the header:
JPEG, PNG, GIF (first frame), BMP and WebP. Every image becomes RGB (grayscale is repeated over three
channels, an alpha channel is dropped), is resized to size x size without keeping its aspect ratio
(the usual captioning input), and is scaled to [0, 1].

Images above `MAX_PIXELS` are refused from their header, before any pixel is decoded: a 10,000 x
10,000 photo would need 300 MB as bytes and 1.2 GB as floats, per image, per parallel call.
"""

from __future__ import annotations

import dataclasses
import io
import pathlib
import re
import struct
from typing import BinaryIO

import numpy as np

from rnnapps.errors import UserError

MAX_PIXELS = 50_000_000  # 50 megapixels: above any camera photo in common datasets (COCO, Flickr are < 1 MP)
FORMATS = ("jpeg", "png", "gif", "bmp", "webp")

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers carry the image size; C4 (DHT), C8 (reserved) and CC (DAC) do not.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_NO_LENGTH = {0x01, *range(0xD0, 0xD9)}  # TEM, RSTn, SOI, EOI have no length field


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What an image header says.

    Attributes:
        format: one of `FORMATS`.
        height: rows of pixels.
        width: columns of pixels.
    """

    format: str
    height: int
    width: int


def read_image_bytes(path: str | pathlib.Path, name: str = "") -> bytes:
    """The bytes of an image file, or a UserError naming the file (as `name`, default the path) when it
    cannot be read."""
    name = name or str(path)
    try:
        return pathlib.Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such image file") from None
    except IsADirectoryError:
        raise UserError(f"{name} is a folder, not an image file") from None
    except OSError as error:
        raise UserError(f"{name}: cannot read the image ({error.strerror or error})") from None


def read_image_info(source: str | pathlib.Path | bytes, name: str = "", max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Check an image from its header only (a file is read no further than its header).

    Catches missing and empty files, files that are not images (a text file named .jpg), headers cut
    short, zero sizes and images above `max_pixels`. An image whose data is truncated after a valid
    header passes; `check_image` decodes it to catch that too.

    Args:
        source: a file path, or the encoded image bytes.
        name: what to call the image in errors (default: the path, or "image bytes").
        max_pixels: largest height x width accepted.

    Returns:
        The image's format and size.

    Raises:
        UserError: one line naming the image and what to do.
    """
    name = name or (str(source) if not isinstance(source, bytes) else "image bytes")
    if isinstance(source, bytes):
        info = _header_info(io.BytesIO(source), name)
    else:
        path = pathlib.Path(source)
        try:
            with path.open("rb") as handle:
                info = _header_info(handle, name)
        except FileNotFoundError:
            raise UserError(f"{name}: no such image file") from None
        except IsADirectoryError:
            raise UserError(f"{name} is a folder, not an image file") from None
        except OSError as error:
            raise UserError(f"{name}: cannot read the image ({error.strerror or error})") from None
    if info.height <= 0 or info.width <= 0:
        raise UserError(f"{name}: the {info.format.upper()} header gives a size of {info.width} x {info.height} "
                        "pixels; the file is corrupt, re-save or remove it")
    pixels = info.height * info.width
    if pixels > max_pixels:
        raise UserError(f"{name}: {info.width} x {info.height} pixels ({pixels / 1e6:.1f} megapixels) is above the "
                        f"limit of {max_pixels / 1e6:g} megapixels; downscale the image (a few hundred pixels a "
                        "side is plenty for captioning) or remove it")
    return info


def check_image(source: str | pathlib.Path | bytes, name: str = "", max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Check an image completely: its header (see `read_image_info`), then a full decode.

    Args:
        source: a file path, or the encoded image bytes.
        name: what to call the image in errors (default: the path, or "image bytes").
        max_pixels: largest height x width accepted.

    Returns:
        The image's format and size.

    Raises:
        UserError: one line naming the image: missing, empty, not an image, too large, or truncated
            or corrupt (it cannot be decoded).
    """
    name = name or (str(source) if not isinstance(source, bytes) else "image bytes")
    info = read_image_info(source, name, max_pixels)  # before reading a whole file that may be huge
    data = source if isinstance(source, bytes) else read_image_bytes(source, name)
    _decode_checked(data, name, info)
    return info


def load_image(source: str | pathlib.Path | bytes, size: int, name: str = "",
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read, check, decode and resize one image (eagerly, outside a graph).

    Args:
        source: a file path, or the encoded image bytes.
        size: side of the square output.
        name: what to call the image in errors (default: the path, or "image bytes").
        max_pixels: largest height x width accepted.

    Returns:
        float32 array [size, size, 3], RGB in [0, 1].

    Raises:
        UserError: the image is missing, empty, not an image, too large, truncated or corrupt.
    """
    _check_size(size)
    name = name or (str(source) if not isinstance(source, bytes) else "image bytes")
    info = read_image_info(source, name, max_pixels)
    data = source if isinstance(source, bytes) else read_image_bytes(source, name)
    return _decode_checked(data, name, info, size, max_pixels)


def decode_and_resize(data, size: int, max_pixels: int = MAX_PIXELS):
    """Decode one encoded image in a TensorFlow graph (tf.data map, SavedModel signature).

    The size is read from the header first and an image above `max_pixels`, or in a format other than
    `FORMATS`, fails with an InvalidArgumentError before its pixels are decoded.

    Args:
        data: scalar string tensor of encoded image bytes.
        size: side of the square output.
        max_pixels: largest height x width accepted.

    Returns:
        float32 tensor [size, size, 3], RGB in [0, 1].
    """
    import tensorflow as tf  # slow import; header checks and scene generation do not need it

    _check_size(size)
    pixels = _graph_pixel_count(data)
    checks = [
        tf.debugging.assert_non_negative(pixels, message=f"not a {', '.join(f.upper() for f in FORMATS)} image"),
        tf.debugging.assert_less_equal(pixels, tf.constant(max_pixels, tf.int64),
                                       message=f"image above the limit of {max_pixels / 1e6:g} megapixels"),
    ]
    with tf.control_dependencies(checks):
        image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, 3])
    # Antialiasing keeps thin structures when a large photo shrinks to a small input.
    resized = tf.image.resize(tf.cast(image, tf.float32), (size, size), method="bilinear", antialias=True)
    return tf.clip_by_value(resized / 255.0, 0.0, 1.0)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image [H, W, C] with C = 1 (gray), 3 (RGB) or 4 (RGBA)."""
    import tensorflow as tf

    return tf.io.encode_png(np.asarray(image, dtype=np.uint8)).numpy()


# --------------------------------------------------------------------------- header parsing


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 4096:
        raise UserError(f"image size = {size!r}: expected a whole number of pixels from 1 to 4096")


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes of a file announce (one of `FORMATS`), or None."""
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _known_unsupported(head: bytes) -> str | None:
    """The name of an image format TensorFlow cannot decode here, recognised from its first bytes."""
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL")):
        return "a JPEG XL image"
    if head[4:8] == b"ftyp":  # ISO media: HEIC from phones, AVIF
        return f"a HEIF/AVIF image (brand {head[8:12].decode('ascii', errors='replace').strip()!r})"
    if head.startswith((b"II*\0", b"MM\0*")):
        return "a TIFF image"
    return None


def _describe_start(head: bytes) -> str:
    """A short description of what a non-image file starts with, for error messages."""
    if head.startswith((b"<", b"{", b"[")) or all(32 <= c < 127 or c in b"\r\n\t" for c in head[:32]):
        return f"it starts with text {head[:16]!r}"
    return f"it starts with bytes {head[:8].hex(' ')}"


def _header_info(handle: BinaryIO, name: str) -> ImageInfo:
    head = handle.read(32)
    if not head:
        raise UserError(f"{name} is empty (0 bytes); re-download or remove the image")
    format = sniff_format(head)
    unsupported = _known_unsupported(head) if format is None else None
    if unsupported:
        raise UserError(f"{name} is {unsupported}, which is not supported; convert it to JPEG or PNG")
    if format is None:
        raise UserError(f"{name} is not a {', '.join(f.upper() for f in FORMATS)} image: {_describe_start(head)}")
    size = _jpeg_size(handle) if format == "jpeg" else _fixed_header_size(format, head)
    if size is None:
        raise UserError(f"{name}: the {format.upper()} header is cut short or corrupt; re-download or remove the image")
    height, width = size
    return ImageInfo(format, height, width)


def _fixed_header_size(format: str, head: bytes) -> tuple[int, int] | None:
    """(height, width) from formats whose size sits at a fixed offset, or None if the header is short."""
    try:
        if format == "png":
            if head[12:16] != b"IHDR":  # the first chunk must be IHDR
                return None
            width, height = struct.unpack(">II", head[16:24])
        elif format == "gif":
            width, height = struct.unpack("<HH", head[6:10])
        elif format == "bmp":
            width, height = struct.unpack("<ii", head[18:26])
            height = abs(height)  # a negative height means rows stored top-down
        else:  # webp: the first chunk says which of its three layouts follows
            chunk = head[12:16]
            if chunk == b"VP8X":
                width = 1 + int.from_bytes(head[24:27], "little")
                height = 1 + int.from_bytes(head[27:30], "little")
            elif chunk == b"VP8L":
                bits = struct.unpack("<I", head[21:25])[0]
                width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            elif chunk == b"VP8 ":
                width, height = (value & 0x3FFF for value in struct.unpack("<HH", head[26:30]))
            else:
                return None
    except struct.error:
        return None
    return height, width


def _jpeg_size(handle: BinaryIO) -> tuple[int, int] | None:
    """(height, width) from the first JPEG start-of-frame segment, seeking past the segments before it
    (EXIF thumbnails can be tens of kilobytes) rather than reading them."""
    handle.seek(2)
    while True:
        byte = handle.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            return None  # segments follow each other directly; anything else is corrupt
        marker = handle.read(1)
        while marker == b"\xff":  # fill bytes
            marker = handle.read(1)
        if not marker:
            return None
        code = marker[0]
        if code == 0xD9:  # end of image before any frame header
            return None
        if code in _JPEG_NO_LENGTH:
            continue
        raw = handle.read(2)
        if len(raw) < 2:
            return None
        length = struct.unpack(">H", raw)[0]
        if length < 2:
            return None
        if code in _JPEG_SOF:
            frame = handle.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return height, width
        if code == 0xDA:  # start of scan before any frame header
            return None
        handle.seek(length - 2, io.SEEK_CUR)


# --------------------------------------------------------------------------- decoding


def _tf_message(error: Exception) -> str:
    """The useful part of a TensorFlow op error: without the "{{function_node ...}}" prefix and the
    "[Op:...]" suffix."""
    lines = str(getattr(error, "message", "") or error).strip().splitlines()
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", lines[0] if lines else "")
    return re.sub(r"\s*\[Op:\w+\].*$", "", text).strip() or type(error).__name__


def _decode_checked(data: bytes, name: str, info: ImageInfo, size: int | None = None,
                    max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode (and resize when `size` is given) an image whose header passed, turning TensorFlow errors
    into one-line UserErrors."""
    import tensorflow as tf

    try:
        if size is None:
            return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
        return decode_and_resize(tf.constant(data), size, max_pixels).numpy()
    except tf.errors.OpError as error:
        raise UserError(f"{name}: cannot decode the {info.format.upper()} image ({_tf_message(error)}); the file "
                        "is truncated or corrupt, re-download or remove it") from None


def _graph_pixel_count(data):
    """height x width from the header of encoded image bytes, in-graph; -1 for an unsupported format.

    Returns:
        int64 scalar tensor.
    """
    import tensorflow as tf

    head = tf.strings.substr(tf.strings.join([tf.strings.substr(data, 0, 32), b"\0" * 32]), 0, 32)
    b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def big(i, n):
        return tf.add_n([b[i + k] * 256 ** (n - 1 - k) for k in range(n)])

    def little(i, n):
        return tf.add_n([b[i + k] * 256**k for k in range(n)])

    def starts(magic: bytes, at: int = 0):
        return tf.equal(tf.strings.substr(head, at, len(magic)), magic)

    bmp_height = little(22, 4)
    bmp_height = tf.where(bmp_height >= 2**31, 2**32 - bmp_height, bmp_height)  # signed: negative = top-down
    vp8l = little(21, 4)
    webp = tf.case([
        (starts(b"VP8X", 12), lambda: (1 + little(24, 3)) * (1 + little(27, 3))),
        (starts(b"VP8L", 12), lambda: ((vp8l % 2**14) + 1) * ((vp8l // 2**14) % 2**14 + 1)),
        (starts(b"VP8 ", 12), lambda: (little(26, 2) % 2**14) * (little(28, 2) % 2**14)),
    ], default=lambda: tf.constant(-1, tf.int64))
    simple = tf.case([
        (starts(_PNG_MAGIC), lambda: big(16, 4) * big(20, 4)),
        (starts(b"GIF87a") | starts(b"GIF89a"), lambda: little(6, 2) * little(8, 2)),
        (starts(b"BM"), lambda: little(18, 4) * bmp_height),
        (starts(b"RIFF") & starts(b"WEBP", 8), lambda: webp),
    ], default=lambda: tf.constant(-1, tf.int64))

    def jpeg_pixels():
        shape = tf.cast(tf.image.extract_jpeg_shape(data), tf.int64)
        return shape[0] * shape[1]

    return tf.cond(starts(_JPEG_MAGIC), jpeg_pixels, lambda: simple)
