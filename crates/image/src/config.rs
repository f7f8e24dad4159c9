//! `preprocessor_config.json`, in every form the Hub has it, with the defaults of the class its
//! `image_processor_type` names (`ViTImageProcessor`, `CLIPImageProcessor`,
//! `BitImageProcessor`, `SiglipImageProcessor`, `DeiTImageProcessor`) where keys are missing.

use std::path::Path;

use serde_json::{Map, Value};

use crate::{Filter, ImageError};

/// How the resize step chooses its output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Exactly `height × width` (`size: 224` or `{"height": .., "width": ..}`).
    Exact {
        /// Output height.
        height: usize,
        /// Output width.
        width: usize,
    },
    /// The shorter side becomes `shortest_edge`, keeping the aspect ratio
    /// (`{"shortest_edge": ..}`, optionally with `longest_edge`).
    ShortestEdge {
        /// Target of the shorter side.
        shortest_edge: usize,
        /// Cap on the longer side.
        longest_edge: Option<usize>,
    },
}

/// The image processor classes vitrs reproduces (their PIL backend), by the name
/// `image_processor_type` (or the older `feature_extractor_type`) gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorClass {
    /// `ViTImageProcessor` (the default when the file names none).
    Vit,
    /// `CLIPImageProcessor`.
    Clip,
    /// `BitImageProcessor` (DINOv2's); its class defaults are CLIP's.
    Bit,
    /// `SiglipImageProcessor`.
    Siglip,
    /// `DeiTImageProcessor`.
    Deit,
}

/// Class names accepted in `image_processor_type`, for errors.
pub const PROCESSOR_CLASSES: &[&str] = &[
    "ViTImageProcessor",
    "CLIPImageProcessor",
    "BitImageProcessor",
    "SiglipImageProcessor",
    "DeiTImageProcessor",
];

// As transformers writes them (parsed like the JSON values, decimal to f32).
#[allow(clippy::excessive_precision)]
const OPENAI_CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
#[allow(clippy::excessive_precision)]
const OPENAI_CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_1];

impl ProcessorClass {
    /// The class of `name`, with or without a `Fast`/`Pil` backend suffix, or the old
    /// `FeatureExtractor` spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        let base = [
            "ImageProcessorFast",
            "ImageProcessorPil",
            "ImageProcessor",
            "FeatureExtractor",
        ]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))?;
        Some(match base {
            "ViT" => ProcessorClass::Vit,
            "CLIP" => ProcessorClass::Clip,
            "Bit" => ProcessorClass::Bit,
            "Siglip" => ProcessorClass::Siglip,
            "DeiT" => ProcessorClass::Deit,
            _ => return None,
        })
    }

    /// Whether a bare integer `size` means a square (`true`) or the shortest edge.
    fn default_to_square(self) -> bool {
        matches!(self, ProcessorClass::Vit | ProcessorClass::Deit)
    }

    /// The class's defaults for the keys a file leaves out.
    pub fn defaults(self) -> ProcessorConfig {
        let base = ProcessorConfig::default();
        let square = |n| Size::Exact {
            height: n,
            width: n,
        };
        match self {
            ProcessorClass::Vit => base,
            ProcessorClass::Clip | ProcessorClass::Bit => ProcessorConfig {
                size: Size::ShortestEdge {
                    shortest_edge: 224,
                    longest_edge: None,
                },
                resample: Filter::Bicubic,
                do_center_crop: true,
                crop_size: Some([224, 224]),
                image_mean: OPENAI_CLIP_MEAN,
                image_std: OPENAI_CLIP_STD,
                ..base
            },
            ProcessorClass::Siglip => ProcessorConfig {
                resample: Filter::Bicubic,
                ..base
            },
            ProcessorClass::Deit => ProcessorConfig {
                size: square(256),
                resample: Filter::Bicubic,
                do_center_crop: true,
                crop_size: Some([224, 224]),
                ..base
            },
        }
    }
}

/// The preprocessing steps and their parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorConfig {
    /// Resize at all.
    pub do_resize: bool,
    /// Resize target.
    pub size: Size,
    /// Resize filter.
    pub resample: Filter,
    /// Center-crop after resizing.
    pub do_center_crop: bool,
    /// Crop `[height, width]`.
    pub crop_size: Option<[usize; 2]>,
    /// Multiply by `rescale_factor`.
    pub do_rescale: bool,
    /// Usually 1/255.
    pub rescale_factor: f64,
    /// Subtract mean, divide by std.
    pub do_normalize: bool,
    /// Per-channel mean.
    pub image_mean: [f32; 3],
    /// Per-channel standard deviation.
    pub image_std: [f32; 3],
}

impl Default for ProcessorConfig {
    /// `ViTImageProcessor`'s defaults: 224×224 bilinear, rescale 1/255, mean = std = 0.5.
    fn default() -> Self {
        ProcessorConfig {
            do_resize: true,
            size: Size::Exact {
                height: 224,
                width: 224,
            },
            resample: Filter::Bilinear,
            do_center_crop: false,
            crop_size: None,
            do_rescale: true,
            rescale_factor: 1.0 / 255.0,
            do_normalize: true,
            image_mean: [0.5; 3],
            image_std: [0.5; 3],
        }
    }
}

struct Fields<'a> {
    path: &'a Path,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn err(&self, field: &str, expected: &str, found: &Value) -> ImageError {
        ImageError::Config {
            path: self.path.to_path_buf(),
            field: field.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn boolean(&self, field: &str, default: bool) -> Result<bool, ImageError> {
        self.get(field).map_or(Ok(default), |v| {
            v.as_bool()
                .ok_or_else(|| self.err(field, "true or false", v))
        })
    }

    fn dim(&self, field: &str, v: &Value) -> Result<usize, ImageError> {
        v.as_u64()
            .filter(|&n| n > 0 && n <= 1 << 16)
            .map(|n| n as usize)
            .ok_or_else(|| self.err(field, "a positive integer of at most 65536", v))
    }

    /// An int (square), `{"height", "width"}` or `[height, width]`.
    fn hw(&self, field: &str, v: &Value) -> Result<[usize; 2], ImageError> {
        match v {
            Value::Object(o) => match (o.get("height"), o.get("width")) {
                (Some(h), Some(w)) => Ok([self.dim(field, h)?, self.dim(field, w)?]),
                _ => Err(self.err(field, "{\"height\": H, \"width\": W}", v)),
            },
            Value::Array(a) if a.len() == 2 => {
                Ok([self.dim(field, &a[0])?, self.dim(field, &a[1])?])
            }
            _ => {
                let n = self.dim(field, v)?;
                Ok([n, n])
            }
        }
    }

    fn size(&self, class: ProcessorClass) -> Result<Size, ImageError> {
        let Some(v) = self.get("size") else {
            return Ok(class.defaults().size);
        };
        if let (Some(n), false) = (v.as_u64(), class.default_to_square()) {
            return Ok(Size::ShortestEdge {
                shortest_edge: self.dim("size", &Value::from(n))?,
                longest_edge: None,
            });
        }
        if let Some(o) = v.as_object() {
            if let Some(s) = o.get("shortest_edge") {
                let longest_edge = match o.get("longest_edge").filter(|l| !l.is_null()) {
                    Some(l) => Some(self.dim("size", l)?),
                    None => None,
                };
                return Ok(Size::ShortestEdge {
                    shortest_edge: self.dim("size", s)?,
                    longest_edge,
                });
            }
        }
        let [height, width] = self.hw("size", v).map_err(|_| {
            self.err(
                "size",
                "an integer, {\"height\", \"width\"}, or {\"shortest_edge\"}",
                v,
            )
        })?;
        Ok(Size::Exact { height, width })
    }

    fn triple(&self, field: &str, default: [f32; 3]) -> Result<[f32; 3], ImageError> {
        let Some(v) = self.get(field) else {
            return Ok(default);
        };
        let expected = "a number or a list of 3 numbers";
        match v {
            Value::Array(a) if a.len() == 3 => {
                let mut out = [0.0f32; 3];
                for (o, x) in out.iter_mut().zip(a) {
                    *o = x.as_f64().ok_or_else(|| self.err(field, expected, v))? as f32;
                }
                Ok(out)
            }
            _ => v
                .as_f64()
                .map(|x| [x as f32; 3])
                .ok_or_else(|| self.err(field, expected, v)),
        }
    }
}

impl ProcessorConfig {
    /// Parses `preprocessor_config.json` text; `path` only names the file in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ImageError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ImageError::Json {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let map = value.as_object().ok_or_else(|| ImageError::Json {
            path: path.to_path_buf(),
            message: "expected a JSON object".into(),
        })?;
        let f = Fields { path, map };
        let class = match f
            .get("image_processor_type")
            .or_else(|| f.get("feature_extractor_type"))
        {
            None => ProcessorClass::Vit,
            Some(v) => v
                .as_str()
                .and_then(ProcessorClass::from_name)
                .ok_or_else(|| {
                    let field = match f.get("image_processor_type") {
                        Some(_) => "image_processor_type",
                        None => "feature_extractor_type",
                    };
                    f.err(
                        field,
                        &format!("one of {}", PROCESSOR_CLASSES.join(", ")),
                        v,
                    )
                })?,
        };
        let d = class.defaults();
        let resample = match f.get("resample") {
            None => d.resample,
            Some(v) => v
                .as_u64()
                .and_then(Filter::from_pil)
                .ok_or_else(|| f.err("resample", "a PIL filter number 0-5", v))?,
        };
        let rescale_factor = match f.get("rescale_factor") {
            None => d.rescale_factor,
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| f.err("rescale_factor", "a number", v))?,
        };
        let do_center_crop = f.boolean("do_center_crop", d.do_center_crop)?;
        let crop_size = match f.get("crop_size") {
            Some(v) => Some(f.hw("crop_size", v)?),
            None => d.crop_size,
        };
        if do_center_crop && crop_size.is_none() {
            return Err(f.err(
                "crop_size",
                "a crop size when do_center_crop is true",
                &Value::Null,
            ));
        }
        let image_std = f.triple("image_std", d.image_std)?;
        if image_std.contains(&0.0) {
            return Err(f.err("image_std", "non-zero values", &map["image_std"]));
        }
        Ok(ProcessorConfig {
            do_resize: f.boolean("do_resize", d.do_resize)?,
            size: f.size(class)?,
            resample,
            do_center_crop,
            crop_size,
            do_rescale: f.boolean("do_rescale", d.do_rescale)?,
            rescale_factor,
            do_normalize: f.boolean("do_normalize", d.do_normalize)?,
            image_mean: f.triple("image_mean", d.image_mean)?,
            image_std,
        })
    }

    /// The resize output `[height, width]` for an input of `[height, width]`, as transformers
    /// computes it.
    pub fn resize_to(&self, [h, w]: [usize; 2]) -> [usize; 2] {
        match self.size {
            Size::Exact { height, width } => [height, width],
            Size::ShortestEdge {
                shortest_edge,
                longest_edge: None,
            } => {
                // get_resize_output_image_size(default_to_square=False)
                let (short, long) = if w <= h { (w, h) } else { (h, w) };
                let new_long = (shortest_edge as f64 * long as f64 / short as f64) as usize;
                if w <= h {
                    [new_long, shortest_edge]
                } else {
                    [shortest_edge, new_long]
                }
            }
            Size::ShortestEdge {
                shortest_edge,
                longest_edge: Some(max_size),
            } => aspect_with_max([h, w], shortest_edge, max_size),
        }
    }
}

/// transformers' `get_size_with_aspect_ratio`.
fn aspect_with_max([h, w]: [usize; 2], size: usize, max_size: usize) -> [usize; 2] {
    let (min_o, max_o) = (h.min(w) as f64, h.max(w) as f64);
    let mut size = size;
    let mut raw = None;
    if max_o / min_o * size as f64 > max_size as f64 {
        let r = max_size as f64 * min_o / max_o;
        raw = Some(r);
        size = r.round() as usize;
    }
    if (h <= w && h == size) || (w <= h && w == size) {
        return [h, w];
    }
    if w < h {
        let oh = match raw {
            Some(r) => (r * h as f64 / w as f64) as usize,
            None => (size as f64 * h as f64 / w as f64) as usize,
        };
        [oh, size]
    } else {
        let ow = match raw {
            Some(r) => (r * w as f64 / h as f64) as usize,
            None => (size as f64 * w as f64 / h as f64) as usize,
        };
        [size, ow]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ProcessorConfig, ImageError> {
        ProcessorConfig::from_json_str(s, Path::new("m/preprocessor_config.json"))
    }

    #[test]
    fn hub_forms_parse() {
        let c = parse(
            r#"{"do_normalize": true, "do_resize": true, "image_mean": [0.5,0.5,0.5],
            "image_std": [0.5,0.5,0.5], "resample": 2, "size": 224}"#,
        )
        .unwrap();
        assert_eq!(c, ProcessorConfig::default());
        let c = parse(
            r#"{"size": {"shortest_edge": 256}, "do_center_crop": true,
            "crop_size": {"height": 224, "width": 224}, "resample": 3,
            "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}"#,
        )
        .unwrap();
        assert_eq!(c.resize_to([300, 451]), [256, 384]);
        assert_eq!(c.resize_to([451, 300]), [384, 256]);
        assert_eq!(c.crop_size, Some([224, 224]));
        assert_eq!(c.resample, Filter::Bicubic);
        assert_eq!(
            parse(r#"{"image_mean": 0.5}"#).unwrap().image_mean,
            [0.5; 3]
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = parse(r#"{"resample": 9}"#).unwrap_err().to_string();
        assert!(e.contains("`resample`") && e.contains("found 9"), "{e}");
        let e = parse(r#"{"size": {"w": 3}}"#).unwrap_err().to_string();
        assert!(e.contains("`size`"), "{e}");
        let e = parse(r#"{"image_std": [1, 0, 1]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-zero"), "{e}");
        let e = parse(r#"{"do_center_crop": true}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`crop_size`"), "{e}");
        let e = parse("[1]").unwrap_err().to_string();
        assert!(e.contains("expected a JSON object"), "{e}");
    }

    #[test]
    fn processor_class_picks_the_defaults_and_the_meaning_of_an_int_size() {
        let c = parse(r#"{"image_processor_type": "CLIPImageProcessor", "size": 224}"#).unwrap();
        assert_eq!(
            c.size,
            Size::ShortestEdge {
                shortest_edge: 224,
                longest_edge: None
            }
        );
        assert_eq!(
            (c.resample, c.crop_size),
            (Filter::Bicubic, Some([224, 224]))
        );
        let c = parse(r#"{"image_processor_type": "DeiTImageProcessorFast"}"#).unwrap();
        assert_eq!(
            c.size,
            Size::Exact {
                height: 256,
                width: 256
            }
        );
        assert!(c.do_center_crop);
        let c = parse(r#"{"feature_extractor_type": "ViTFeatureExtractor", "size": 32}"#).unwrap();
        assert_eq!(
            c.size,
            Size::Exact {
                height: 32,
                width: 32
            }
        );
        let e = parse(r#"{"image_processor_type": "ConvNextImageProcessor"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("image_processor_type") && e.contains("BitImageProcessor"),
            "{e}"
        );
    }
}
