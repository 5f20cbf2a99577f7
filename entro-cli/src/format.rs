//! Number formatting and aligned text tables for terminal output.

use std::fmt::Write as _;

/// `1234567` -> `1.23 M`.
pub(crate) fn human_count(count: u64) -> String {
    let value = count as f64;
    if count >= 1_000_000_000 {
        format!("{:.2} G", value / 1e9)
    } else if count >= 1_000_000 {
        format!("{:.2} M", value / 1e6)
    } else if count >= 10_000 {
        format!("{:.1} k", value / 1e3)
    } else {
        count.to_string()
    }
}

/// A rate or other non-integer amount, in the units of [`human_count`] (`1.23 G`).
pub(crate) fn human_rate(value: f64) -> String {
    if value >= 1e9 {
        format!("{:.2} G", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.1} k", value / 1e3)
    } else {
        format!("{value:.0} ")
    }
}

/// Bytes in decimal units (`1.50 MB`), as file managers and `ls -h --si` show them.
pub(crate) fn human_bytes(bytes: u64) -> String {
    let value = bytes as f64;
    if bytes >= 1_000_000_000 {
        format!("{:.2} GB", value / 1e9)
    } else if bytes >= 1_000_000 {
        format!("{:.2} MB", value / 1e6)
    } else if bytes >= 10_000 {
        format!("{:.1} kB", value / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// `1 tensor`, `2 tensors`.
pub(crate) fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A text table: a header row, then rows, columns padded to their widest cell.
#[derive(Debug)]
pub(crate) struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|&(name, align)| (name.to_owned(), align))
                .collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(name, _)| name.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|(name, _)| name.clone()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, ((cell, width), (_, align))) in
                row.iter().zip(&widths).zip(&self.columns).enumerate()
            {
                if i > 0 {
                    line.push_str("  ");
                }
                let _ = match align {
                    Align::Left => write!(line, "{cell:<width$}"),
                    Align::Right => write!(line, "{cell:>width$}"),
                };
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(134_515_008), "134.52 M");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1_500_000), "1.50 MB");
        assert_eq!(human_bytes(2_100_000_000), "2.10 GB");
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        table.push(vec!["a".into(), "100".into()]);
        table.push(vec!["long-name".into(), "7".into()]);
        assert_eq!(
            table.render(),
            "name         n\na          100\nlong-name    7\n"
        );
    }
}
