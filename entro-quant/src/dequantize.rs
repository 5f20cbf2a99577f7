//! Codes back to floats, with the formula of [`BlockParams::dequantize_code`](crate::BlockParams::dequantize_code).

use half::slice::HalfFloatSliceExt;

use crate::input::PIECE;
use crate::{FloatSliceMut, QuantError, QuantParams};

/// Dequantizes `codes` of a tensor of `shape` into `out` (same length), in
/// the output's format.
///
/// Each value is `((code as i32 - zero_point) as f32) * scale` in f32, then
/// rounded to nearest for F16 / BF16 output (bit for bit what
/// `f16::from_f32` / `bf16::from_f32` give). Codes `0..2^bits` are accepted,
/// including the symmetric scheme's unused code 0.
///
/// # Errors
///
/// The validation errors of [`QuantParams::validate`] (parameters may come
/// from an untrusted file), [`QuantError::LengthMismatch`] when a slice does
/// not match the shape, and [`QuantError::CodeOutOfRange`] for the first code
/// that does not fit in `bits` bits (the output is then partly written).
pub fn dequantize(
    codes: &[u8],
    params: &QuantParams,
    shape: &[usize],
    mut out: FloatSliceMut<'_>,
) -> Result<(), QuantError> {
    let layout = params.validate(shape)?;
    for (what, found) in [("codes", codes.len()), ("output", out.len())] {
        if found != layout.elements() {
            return Err(QuantError::LengthMismatch {
                what,
                shape: shape.to_vec(),
                expected: layout.elements(),
                found,
            });
        }
    }
    let max_code = params.max_code();
    let mut buffer = [0.0f32; PIECE];
    for (elements, block) in layout.block_ranges().zip(&params.blocks) {
        let mut start = elements.start;
        while start < elements.end {
            let end = elements.end.min(start + PIECE);
            let piece = &codes[start..end];
            let highest = piece.iter().copied().fold(0, u8::max);
            if highest > max_code {
                let offset = piece.iter().position(|&code| code > max_code).unwrap_or(0);
                return Err(QuantError::CodeOutOfRange {
                    index: start + offset,
                    code: highest.min(piece[offset]),
                    bits: params.bits,
                });
            }
            let values = &mut buffer[..piece.len()];
            for (value, &code) in values.iter_mut().zip(piece) {
                *value = block.dequantize_code(code);
            }
            match &mut out {
                FloatSliceMut::F32(out) => out[start..end].copy_from_slice(values),
                FloatSliceMut::F16(out) => out[start..end].convert_from_f32_slice(values),
                FloatSliceMut::BF16(out) => out[start..end].convert_from_f32_slice(values),
            }
            start = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};

    use super::*;
    use crate::{BlockParams, ChosenScheme, Granularity};

    fn params() -> QuantParams {
        QuantParams {
            bits: 3,
            scheme: ChosenScheme::Asymmetric,
            granularity: Granularity::Group(2),
            blocks: vec![
                BlockParams {
                    scale: 0.5,
                    zero_point: 1,
                },
                BlockParams {
                    scale: 0.1,
                    zero_point: 7,
                },
                BlockParams {
                    scale: 3.0,
                    zero_point: 0,
                },
            ],
        }
    }

    #[test]
    fn every_output_format_follows_the_formula() {
        let codes = [0u8, 7, 3, 5, 1, 2];
        let params = params();
        let expected: Vec<f32> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| params.blocks[i / 2].dequantize_code(c))
            .collect();
        let mut out = [0.0f32; 6];
        dequantize(&codes, &params, &[1, 6], FloatSliceMut::F32(&mut out)).unwrap();
        assert_eq!(
            out.map(f32::to_bits).to_vec(),
            expected.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let mut halves = [f16::ZERO; 6];
        dequantize(&codes, &params, &[1, 6], FloatSliceMut::F16(&mut halves)).unwrap();
        let mut brains = [bf16::ZERO; 6];
        dequantize(&codes, &params, &[1, 6], FloatSliceMut::BF16(&mut brains)).unwrap();
        for i in 0..6 {
            assert_eq!(halves[i].to_bits(), f16::from_f32(expected[i]).to_bits());
            assert_eq!(brains[i].to_bits(), bf16::from_f32(expected[i]).to_bits());
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let params = params();
        let mut out = [0.0f32; 6];
        let err = dequantize(
            &[0, 1, 2, 8, 9, 0],
            &params,
            &[1, 6],
            FloatSliceMut::F32(&mut out),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                QuantError::CodeOutOfRange {
                    index: 3,
                    code: 8,
                    bits: 3
                }
            ),
            "{err:?}"
        );
        let err = dequantize(&[0; 5], &params, &[1, 6], FloatSliceMut::F32(&mut out)).unwrap_err();
        assert!(matches!(
            err,
            QuantError::LengthMismatch {
                what: "codes",
                expected: 6,
                found: 5,
                ..
            }
        ));
        let err =
            dequantize(&[0; 6], &params, &[1, 6], FloatSliceMut::F32(&mut out[..4])).unwrap_err();
        assert!(matches!(
            err,
            QuantError::LengthMismatch { what: "output", .. }
        ));
        let err = dequantize(&[0; 6], &params, &[2, 3], FloatSliceMut::F32(&mut out)).unwrap_err();
        assert!(matches!(
            err,
            QuantError::BlockCountMismatch {
                expected: 4,
                found: 3
            }
        ));
    }
}
