//! Fixed-width bit fields of 1 to 8 bits, packed least significant bit first: every 8 fields
//! take exactly `width` bytes, the last group padded with zero bits to a whole byte.

/// Bytes taken by `count` fields of `width` bits.
pub(crate) fn packed_len(count: usize, width: u8) -> usize {
    (count / 8) * usize::from(width) + (count % 8 * usize::from(width)).div_ceil(8)
}

/// The fields of up to 8 values in one little-endian word.
fn join_group(values: &[u8], width: u32) -> u64 {
    let mask = (1u64 << width) - 1;
    values
        .iter()
        .zip((0..).step_by(width as usize))
        .fold(0, |word, (&value, shift)| {
            word | (u64::from(value) & mask) << shift
        })
}

/// Appends the low `width` bits (1 to 8) of every value.
pub(crate) fn pack(values: &[u8], width: u8, out: &mut Vec<u8>) {
    for group in values.chunks(8) {
        let bytes = (group.len() * usize::from(width)).div_ceil(8);
        out.extend_from_slice(&join_group(group, u32::from(width)).to_le_bytes()[..bytes]);
    }
}

/// Unpacks `out.len()` fields of `width` bits (1 to 8) from `packed`, which must be
/// [`packed_len`] bytes long. `Err` if the padding bits of the last byte are not zero.
pub(crate) fn unpack(packed: &[u8], width: u8, out: &mut [u8]) -> Result<(), ()> {
    match width {
        1 => unpack_width::<1>(packed, out),
        2 => unpack_width::<2>(packed, out),
        3 => unpack_width::<3>(packed, out),
        4 => unpack_nibbles(packed, out),
        5 => unpack_width::<5>(packed, out),
        6 => unpack_width::<6>(packed, out),
        7 => unpack_width::<7>(packed, out),
        8 => {
            // Whole bytes, no padding.
            let whole = packed.get(..out.len()).ok_or(())?;
            out.copy_from_slice(whole);
            Ok(())
        }
        _ => Err(()),
    }
}

/// [`unpack`] for 4-bit fields: two per byte, low nibble first, in a loop that vectorizes.
fn unpack_nibbles(packed: &[u8], out: &mut [u8]) -> Result<(), ()> {
    let mut pairs = out.chunks_exact_mut(2);
    for (pair, &byte) in (&mut pairs).zip(packed) {
        pair[0] = byte & 0x0f;
        pair[1] = byte >> 4;
    }
    match (pairs.into_remainder(), packed.last()) {
        ([last], Some(&byte)) => {
            *last = byte & 0x0f;
            if byte >> 4 == 0 { Ok(()) } else { Err(()) }
        }
        _ => Ok(()),
    }
}

/// [`unpack`] for one width, so that the shifts are constants.
fn unpack_width<const WIDTH: usize>(packed: &[u8], out: &mut [u8]) -> Result<(), ()> {
    let mask = (1u64 << WIDTH) - 1;
    let full = out.len() / 8 * WIDTH;
    let (whole, tail) = packed.split_at(full.min(packed.len()));
    let mut groups = out.chunks_exact_mut(8);
    for (group, bytes) in (&mut groups).zip(whole.chunks_exact(WIDTH)) {
        let mut word = [0u8; 8];
        word[..WIDTH].copy_from_slice(bytes);
        let word = u64::from_le_bytes(word);
        for (j, field) in group.iter_mut().enumerate() {
            *field = (word >> (j * WIDTH) & mask).to_le_bytes()[0];
        }
    }
    let rest = groups.into_remainder();
    let mut word = [0u8; 8];
    let used = tail.len().min(8);
    word[..used].copy_from_slice(&tail[..used]);
    let word = u64::from_le_bytes(word);
    for (j, field) in rest.iter_mut().enumerate() {
        *field = (word >> (j * WIDTH) & mask).to_le_bytes()[0];
    }
    // rest.len() < 8 and WIDTH < 8, so the shift is below 64.
    if word >> (rest.len() * WIDTH) == 0 {
        Ok(())
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_and_length_round_trips() {
        for width in 1..=8u8 {
            for count in 0..40usize {
                let mask = u8::MAX >> (8 - width);
                let values: Vec<u8> = (0..count)
                    .map(|i| u8::try_from((i * 37 + 11) % 256).unwrap() & mask)
                    .collect();
                let mut packed = Vec::new();
                pack(&values, width, &mut packed);
                assert_eq!(
                    packed.len(),
                    packed_len(count, width),
                    "width {width}, {count} fields"
                );
                let mut unpacked = vec![0xEE; count];
                unpack(&packed, width, &mut unpacked).unwrap();
                assert_eq!(unpacked, values);
            }
        }
    }

    #[test]
    fn set_padding_bits_are_refused() {
        // Three 5-bit fields take 15 bits: the top bit of the second byte is padding.
        let mut out = [0u8; 3];
        assert!(unpack(&[0, 0x80], 5, &mut out).is_err());
        assert!(unpack(&[0xff, 0x7f], 5, &mut out).is_ok());
        assert_eq!(out, [31, 31, 31]);
    }
}
