//! JS numbers as text: `String(n)` (Number::prototype.toString), which header values, JSON
//! output and URL headers all follow. `ryu-js` implements exactly JS's shortest round-trip form
//! (exponent from 1e21 and below 1e-6, `-0` as "0", `NaN`, `Infinity`).

/// `String(n)` in JS; the one place the crate turns a JS number into text.
pub(crate) fn js_number_string(n: f64) -> String {
    ryu_js::Buffer::new().format(n).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_number_string_matches_node() {
        // expected strings printed by `node -p "String(n)"`
        let cases: [(f64, &str); 18] = [
            (0.0, "0"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (9.3e18, "9300000000000000000"),
            (-9.3e18, "-9300000000000000000"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.5, "1.5"),
            (100.0, "100"),
            (-42.0, "-42"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9007199254740994.0, "9007199254740994"),
        ];
        for (n, expected) in cases {
            assert_eq!(js_number_string(n), expected, "{n:?}");
        }
    }
}
