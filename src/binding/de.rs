//! Reading a JS value into a Rust type through serde, as napi's `Env::from_js_value` does,
//! except for numbers. napi hands every integral number to serde as an `i64` (saturating: `1e21`
//! and `2 ** 64` became 9223372036854775807) and a number within `f64::EPSILON` of an integer
//! as that integer (`1e-20` became 0), while nodemailer writes `String(n)` of the number it was
//! given. Here a number is an `i64` only when it is one exactly, else the `f64` it is; every
//! other value reads as napi reads it (the same napi calls, in the same order), so a message
//! costs what it did. Used for messages, whose numbers end up as text in headers and in the
//! JSON transport's output.

use napi::bindgen_prelude::{
    ArrayBuffer, BigInt, BufferSlice, FromNapiValue, JsObjectValue, Object, Unknown,
};
use napi::{sys, Env, Error, JsValue, Result, Status, ValueType};
use serde::de::{
    DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

/// `T` read from `value` (see the module doc).
pub(super) fn from_js_value<'v, T: DeserializeOwned>(
    env: &Env,
    value: impl JsValue<'v>,
) -> Result<T> {
    T::deserialize(De {
        env: env.raw(),
        value: value.raw(),
    })
}

/// 2^63: the first integer an `i64` cannot hold (`-2^63` it can).
const I64_END: f64 = 9_223_372_036_854_775_808.0;

/// How a JS number goes to serde: an integer when it is one that fits an `i64` exactly.
fn visit_number<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Result<V::Value> {
    if n.trunc() == n && (-I64_END..I64_END).contains(&n) {
        visitor.visit_i64(n as i64)
    } else {
        visitor.visit_f64(n)
    }
}

/// One JS value.
#[derive(Clone, Copy)]
struct De {
    env: sys::napi_env,
    value: sys::napi_value,
}

impl De {
    fn of(&self, value: sys::napi_value) -> De {
        De {
            env: self.env,
            value,
        }
    }

    fn value_type(&self) -> Result<ValueType> {
        unsafe { Unknown::from_raw_unchecked(self.env, self.value) }.get_type()
    }

    fn object<'a>(&self) -> Object<'a> {
        Object::from_raw(self.env, self.value)
    }
}

impl<'de> serde::Deserializer<'de> for De {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value_type()? {
            ValueType::Undefined | ValueType::Null => visitor.visit_unit(),
            ValueType::Boolean => {
                visitor.visit_bool(unsafe { bool::from_napi_value(self.env, self.value)? })
            }
            ValueType::Number => visit_number(
                unsafe { f64::from_napi_value(self.env, self.value)? },
                visitor,
            ),
            ValueType::String => {
                visitor.visit_string(unsafe { String::from_napi_value(self.env, self.value)? })
            }
            ValueType::Object => {
                let object = self.object();
                if object.is_array()? {
                    let len = object.get_array_length_unchecked()?;
                    visitor.visit_seq(Seq {
                        de: self,
                        idx: 0,
                        len,
                    })
                } else if object.is_typedarray()?
                    || object.is_buffer()?
                    || object.is_arraybuffer()?
                {
                    // one reading of the JS byte sources (messages carry their Buffers out
                    // of band, so this branch is off the usual path)
                    self.deserialize_bytes(visitor)
                } else {
                    visitor.visit_map(Map::new(self)?)
                }
            }
            ValueType::BigInt => {
                let n = unsafe { BigInt::from_napi_value(self.env, self.value)? };
                match (n.sign_bit, n.words.len() < 2) {
                    (true, true) => visitor.visit_i64(n.get_i64().0),
                    (true, false) => visitor.visit_i128(n.get_i128().0),
                    (false, true) => visitor.visit_u64(n.get_u64().1),
                    (false, false) => visitor.visit_u128(n.get_u128().1),
                }
            }
            other => Err(Error::new(
                Status::InvalidArg,
                format!("typeof {other:?} value could not be deserialized"),
            )),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value_type()? {
            ValueType::Object => {
                let object = self.object();
                if object.is_buffer()? {
                    visitor.visit_bytes(&unsafe {
                        BufferSlice::from_napi_value(self.env, self.value)?
                    })
                } else if object.is_arraybuffer()? {
                    visitor.visit_bytes(&unsafe {
                        ArrayBuffer::from_napi_value(self.env, self.value)?
                    })
                } else {
                    visitor.visit_bytes(unsafe { <&[u8]>::from_napi_value(self.env, self.value)? })
                }
            }
            other => Err(Error::new(
                Status::InvalidArg,
                format!("{other:?} type could not deserialize to bytes"),
            )),
        }
    }

    /// The same JS byte sources as `deserialize_bytes`: a byte-buffer visitor takes borrowed
    /// bytes too (serde copies them), so one reading serves both.
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value_type()? {
            ValueType::Undefined | ValueType::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.value_type()? {
            ValueType::String => visitor.visit_enum(Enum {
                variant: unsafe { String::from_napi_value(self.env, self.value)? },
                value: None,
            }),
            ValueType::Object => {
                let object = self.object();
                let names = object.get_property_names()?;
                let len = names.get_array_length_unchecked()?;
                if len != 1 {
                    return Err(Error::new(
                        Status::InvalidArg,
                        format!("object key length: {len}, can not deserialize to Enum"),
                    ));
                }
                let key = names.get_element::<String>(0)?;
                let value: Unknown = object.get_named_property_unchecked(&key)?;
                visitor.visit_enum(Enum {
                    variant: key,
                    value: Some(self.of(value.raw())),
                })
            }
            other => Err(Error::new(
                Status::InvalidArg,
                format!("{other:?} type could not deserialize to Enum type"),
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // nothing is read for a value nobody wants
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier newtype_struct
    }
}

/// An array's elements.
struct Seq {
    de: De,
    idx: u32,
    len: u32,
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.idx >= self.len {
            return Ok(None);
        }
        let v = self.de.object().get_element::<Unknown>(self.idx)?;
        self.idx += 1;
        seed.deserialize(self.de.of(v.raw())).map(Some)
    }
}

/// An object's enumerable string-keyed properties (napi_get_property_names).
struct Map<'a> {
    de: De,
    names: Object<'a>,
    idx: u32,
    len: u32,
}

impl Map<'_> {
    fn new(de: De) -> Result<Self> {
        let names = de.object().get_property_names()?;
        let len = names.get_array_length_unchecked()?;
        Ok(Map {
            de,
            names,
            idx: 0,
            len,
        })
    }
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.idx >= self.len {
            return Ok(None);
        }
        let name = self.names.get_element::<Unknown>(self.idx)?;
        seed.deserialize(self.de.of(name.raw())).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        if self.idx >= self.len {
            return Err(Error::new(
                Status::InvalidArg,
                format!("Index:{} out of range: {}", self.len, self.idx),
            ));
        }
        let name = self.names.get_element::<String>(self.idx)?;
        let value: Unknown = self.de.object().get_named_property_unchecked(&name)?;
        self.idx += 1;
        seed.deserialize(self.de.of(value.raw()))
    }
}

/// An enum given as `"Variant"` or `{ Variant: value }`.
struct Enum {
    variant: String,
    value: Option<De>,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = Variant;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Variant)> {
        let variant: serde::de::value::StringDeserializer<Error> = self.variant.into_deserializer();
        seed.deserialize(variant).map(|v| (v, Variant(self.value)))
    }
}

struct Variant(Option<De>);

impl<'de> VariantAccess<'de> for Variant {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        match self.0 {
            Some(de) => serde::Deserialize::deserialize(de),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        match self.0 {
            Some(de) => seed.deserialize(de),
            None => Err(serde::de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        match self.0 {
            Some(de) if de.object().is_array()? => {
                let len = de.object().get_array_length_unchecked()?;
                visitor.visit_seq(Seq { de, idx: 0, len })
            }
            Some(_) => Err(serde::de::Error::invalid_type(
                Unexpected::Other("JsValue"),
                &"tuple variant",
            )),
            None => Err(serde::de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0 {
            Some(de) if de.value_type()? == ValueType::Object => visitor.visit_map(Map::new(de)?),
            Some(_) => Err(serde::de::Error::invalid_type(
                Unexpected::Other("JsValue"),
                &"struct variant",
            )),
            None => Err(serde::de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug, PartialEq)]
    enum Seen {
        I64(i64),
        F64(f64),
    }

    struct Record;

    impl Visitor<'_> for Record {
        type Value = Seen;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_i64<E>(self, n: i64) -> std::result::Result<Seen, E> {
            Ok(Seen::I64(n))
        }
        fn visit_f64<E>(self, n: f64) -> std::result::Result<Seen, E> {
            Ok(Seen::F64(n))
        }
    }

    #[test]
    fn a_number_is_an_integer_only_when_it_is_one_exactly() {
        let seen = |n: f64| visit_number(n, Record).unwrap();
        assert_eq!(seen(42.0), Seen::I64(42));
        assert_eq!(seen(-0.0), Seen::I64(0));
        assert_eq!(seen(9007199254740993.0), Seen::I64(9007199254740992));
        assert_eq!(seen(-I64_END), Seen::I64(i64::MIN));
        // napi gave these as i64::MAX / i64::MIN / 0
        assert_eq!(seen(I64_END), Seen::F64(I64_END));
        assert_eq!(seen(1e21), Seen::F64(1e21));
        assert_eq!(seen(-(2f64.powi(70))), Seen::F64(-(2f64.powi(70))));
        assert_eq!(seen(1e-20), Seen::F64(1e-20));
        assert_eq!(seen(f64::INFINITY), Seen::F64(f64::INFINITY));
        assert!(matches!(seen(f64::NAN), Seen::F64(n) if n.is_nan()));
        assert_eq!(seen(1.5), Seen::F64(1.5));
    }
}
