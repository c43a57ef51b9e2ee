//! What Kartoteka needs to know about a photo or file before it joins a gallery:
//! its media type, when it was taken (from EXIF), and a small JPEG thumbnail so
//! that listing a large gallery never reads the full photos.
//!
//! Nothing here rejects a file: an unknown type is `application/octet-stream`,
//! a photo without EXIF has no taken-at time, an image that does not decode has
//! no thumbnail. Unusual is not wrong.

#![warn(missing_docs)]

use std::io::Cursor;
use std::path::Path;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIZE: u32 = 256;

/// What was learned about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The media type ("image/jpeg").
    pub media_type: String,
    /// When the photo was taken, as EXIF writes it ("2026:11:22 09:14:03").
    pub taken_at: Option<String>,
    /// A JPEG thumbnail, for images.
    pub thumbnail: Option<Vec<u8>>,
}

/// Describes a file from its name and bytes.
pub fn describe(name: &Path, bytes: &[u8]) -> Described {
    let media_type = mime_guess::from_path(name).first_or_octet_stream().essence_str().to_owned();
    if !media_type.starts_with("image/") {
        return Described { media_type, taken_at: None, thumbnail: None };
    }
    // Cameras and editors write slightly broken EXIF often enough: keep whatever
    // parsed instead of nothing.
    let exif = exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
        .or_else(|error| error.distill_partial_result(|_| {}))
        .ok();
    let taken_at = exif.as_ref().and_then(|exif| {
        [exif::Tag::DateTimeOriginal, exif::Tag::DateTime].iter().find_map(|tag| {
            let field = exif.get_field(*tag, exif::In::PRIMARY)?;
            Some(field.display_value().to_string())
        })
    });
    let thumbnail = exif.as_ref().and_then(embedded_thumbnail).or_else(|| {
        let decoded = if media_type == "image/jpeg" { downscaled_jpeg(bytes) } else { None };
        decoded
            .or_else(|| image::load_from_memory(bytes).ok())
            .and_then(|image| encode_thumbnail(&image))
    });
    Described { media_type, taken_at, thumbnail }
}

/// The thumbnail a camera stored in the EXIF data, if any: no decoding needed.
fn embedded_thumbnail(exif: &exif::Exif) -> Option<Vec<u8>> {
    let offset =
        exif.get_field(exif::Tag::JPEGInterchangeFormat, exif::In::THUMBNAIL)?.value.get_uint(0)?;
    let length = exif
        .get_field(exif::Tag::JPEGInterchangeFormatLength, exif::In::THUMBNAIL)?
        .value
        .get_uint(0)?;
    let buffer = exif.buf();
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(length).ok()?)?;
    let thumbnail = buffer.get(start..end)?;
    // A JPEG starts with FF D8.
    thumbnail.starts_with(&[0xFF, 0xD8]).then(|| thumbnail.to_vec())
}

/// Decodes a JPEG at the smallest DCT scale that still covers the thumbnail
/// (a 4000×3000 photo decodes as 500×375), which skips most of the work of a
/// full decode.
fn downscaled_jpeg(bytes: &[u8]) -> Option<image::DynamicImage> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let size = u16::try_from(THUMBNAIL_SIZE).ok()?;
    decoder.scale(size, size).ok()?;
    let pixels = decoder.decode().ok()?;
    let info = decoder.info()?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            image::RgbImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageLuma8)
        }
        // CMYK and 16-bit JPEGs are rare; the full decoder handles them.
        _ => None,
    }
}

/// Scales an image down to a thumbnail and encodes it as JPEG.
fn encode_thumbnail(image: &image::DynamicImage) -> Option<Vec<u8>> {
    let thumbnail = image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE).into_rgb8();
    let mut encoded = Cursor::new(Vec::new());
    thumbnail.write_to(&mut encoded, image::ImageFormat::Jpeg).ok()?;
    Some(encoded.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 80])
        });
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn an_image_gets_a_small_jpeg_thumbnail() {
        let described = describe(Path::new("boiler.png"), &png(1200, 800));
        assert_eq!(described.media_type, "image/png");
        let thumbnail = image::load_from_memory(&described.thumbnail.unwrap()).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (256, 171));
    }

    #[test]
    fn a_jpeg_is_thumbnailed_from_a_downscaled_decode() {
        let image = image::RgbImage::from_fn(2000, 1500, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 80])
        });
        let mut jpeg = Cursor::new(Vec::new());
        image.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let described = describe(Path::new("IMG_0001.JPG"), jpeg.get_ref());
        let thumbnail = image::load_from_memory(&described.thumbnail.unwrap()).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (256, 192));
    }

    #[test]
    fn other_files_and_broken_images_are_kept_as_they_are() {
        let pdf = describe(Path::new("contract.pdf"), b"%PDF-1.7");
        assert_eq!(
            pdf,
            Described { media_type: "application/pdf".to_owned(), taken_at: None, thumbnail: None }
        );
        let broken = describe(Path::new("photo.jpg"), b"not a jpeg at all");
        assert_eq!(broken.media_type, "image/jpeg");
        assert_eq!(broken.thumbnail, None);
        assert_eq!(describe(Path::new("notes"), b"x").media_type, "application/octet-stream");
    }
}
