//! The Spot Instance Advisor's "frequency of interruption" bands: the share
//! of a pool's spot instances AWS interrupted over the last month, in five
//! bands. The simulator draws interruptions at a band's middle (">20%" at
//! 25%); copy your region's bands from the Advisor into `[simulate] bands`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A monthly interruption-frequency band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    Under5,
    From5To10,
    From10To15,
    From15To20,
    Over20,
}

impl Band {
    pub const ALL: [Band; 5] = [
        Band::Under5,
        Band::From5To10,
        Band::From10To15,
        Band::From15To20,
        Band::Over20,
    ];

    /// The Advisor's label.
    pub fn label(self) -> &'static str {
        match self {
            Band::Under5 => "<5%",
            Band::From5To10 => "5-10%",
            Band::From10To15 => "10-15%",
            Band::From15To20 => "15-20%",
            Band::Over20 => ">20%",
        }
    }

    /// The share of a pool's instances interrupted per 30 days that the
    /// simulator assumes: the band's middle, 25% for ">20%".
    pub fn monthly_rate(self) -> f64 {
        match self {
            Band::Under5 => 0.025,
            Band::From5To10 => 0.075,
            Band::From10To15 => 0.125,
            Band::From15To20 => 0.175,
            Band::Over20 => 0.25,
        }
    }

    /// The chance that one instance is interrupted in a given minute.
    pub fn per_minute(self) -> f64 {
        let minutes = 30.0 * 24.0 * 60.0;
        -(1.0 - self.monthly_rate()).ln() / minutes
    }

    /// "<5", "5-10", "10-15", "15-20", ">20" (a trailing % is allowed).
    pub fn parse(text: &str) -> Option<Band> {
        let t = text.trim().trim_end_matches('%').replace(' ', "");
        Band::ALL
            .into_iter()
            .find(|b| b.label().trim_end_matches('%') == t)
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for Band {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Band {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Band::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a Spot Instance Advisor band (<5, 5-10, 10-15, 15-20 or >20)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_parse_and_rates_grow() {
        assert_eq!(Band::parse("<5%"), Some(Band::Under5));
        assert_eq!(Band::parse("5-10"), Some(Band::From5To10));
        assert_eq!(Band::parse(" >20 % "), Some(Band::Over20));
        assert_eq!(Band::parse("7"), None);
        let rates: Vec<f64> = Band::ALL.iter().map(|b| b.per_minute()).collect();
        assert!(rates.windows(2).all(|w| w[0] < w[1]));
        // 7.5% a month is about one interruption per 13 instance-months.
        let monthly = 1.0 - (1.0 - Band::From5To10.per_minute()).powf(43_200.0);
        assert!((monthly - 0.075).abs() < 1e-6, "{monthly}");
    }
}
