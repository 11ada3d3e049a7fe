//! Which channel pairs are correlated, and which share of them this process computes.

use super::params::{Mode, XcorrConfig};
use crate::model::{ChannelMeta, Pair};
use crate::sources::files::glob;

/// A pair as indices into the channel list, with what the product records about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PairIdx {
    pub src: usize,
    pub rcv: usize,
    pub pair: Pair,
}

fn id_matches(pattern: &str, c: &ChannelMeta) -> bool {
    glob(pattern, c.source_id.as_str()) || glob(pattern, &c.source_id.seed_text())
}

/// The component letter: the last character of the channel code (`Z` of `HHZ`).
fn component(c: &ChannelMeta) -> Option<char> {
    c.source_id.as_str().chars().last()
}

/// A stable share of the pair matrix: the same pair goes to the same instance whatever order
/// channels arrive in (FNV-1a of the two ids), so N processes together make every pair once.
fn instance_of(p: &Pair, instances: usize) -> usize {
    let h = crate::model::hash::fnv1a(
        p.source
            .as_str()
            .bytes()
            .chain([0u8])
            .chain(p.receiver.as_str().bytes()),
    );
    (h % instances as u64) as usize
}

/// The pairs among `channels` (sorted by source id) that `cfg` asks for and this instance
/// computes.
pub fn select(cfg: &XcorrConfig, channels: &[ChannelMeta]) -> Vec<PairIdx> {
    let mut out = Vec::new();
    let mut push = |s: usize, r: usize| {
        let (a, b) = (&channels[s], &channels[r]);
        if !cfg.components.is_empty() {
            let (Some(ca), Some(cb)) = (component(a), component(b)) else {
                return;
            };
            let pc: String = [ca, cb].iter().collect();
            if !cfg.components.iter().any(|c| c.eq_ignore_ascii_case(&pc)) {
                return;
            }
        }
        let distance_m = match (a.distance_m, b.distance_m) {
            (Some(x), Some(y)) => Some((x - y).abs()),
            _ => None,
        };
        if let (Some(max), Some(d)) = (cfg.max_distance_m, distance_m) {
            if d > max {
                return;
            }
        }
        let pair = Pair {
            source: a.source_id.clone(),
            receiver: b.source_id.clone(),
            distance_m,
        };
        if cfg.instances > 1 && instance_of(&pair, cfg.instances) != cfg.instance {
            return;
        }
        out.push(PairIdx {
            src: s,
            rcv: r,
            pair,
        });
    };
    let n = channels.len();
    match cfg.mode {
        Mode::All => {
            for s in 0..n {
                let from = if cfg.autocorr { s } else { s + 1 };
                for r in from..n {
                    push(s, r);
                }
            }
        }
        Mode::Sources => {
            for (s, c) in channels.iter().enumerate() {
                if !cfg.sources.iter().any(|p| id_matches(p, c)) {
                    continue;
                }
                for r in 0..n {
                    if r != s || cfg.autocorr {
                        push(s, r);
                    }
                }
            }
        }
        Mode::List => {
            for [ps, pr] in &cfg.pairs {
                for s in (0..n).filter(|&s| id_matches(ps, &channels[s])) {
                    for r in (0..n).filter(|&r| id_matches(pr, &channels[r])) {
                        push(s, r);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeedId;

    fn ch(sta: &str, cha: &str) -> ChannelMeta {
        ChannelMeta {
            source_id: SeedId::new("FR", sta, "00", cha).to_source_id(),
            distance_m: None,
        }
    }

    #[test]
    fn all_pairs_components_and_instances() {
        let chans = vec![
            ch("A", "HHN"),
            ch("A", "HHZ"),
            ch("B", "HHN"),
            ch("B", "HHZ"),
        ];
        let cfg = XcorrConfig::default();
        assert_eq!(select(&cfg, &chans).len(), 6);
        let zz = XcorrConfig {
            components: vec!["ZZ".into()],
            ..XcorrConfig::default()
        };
        let p = select(&zz, &chans);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].src, p[0].rcv), (1, 3));
        let auto = XcorrConfig {
            autocorr: true,
            ..XcorrConfig::default()
        };
        assert_eq!(select(&auto, &chans).len(), 10);
        // Two instances split the pairs between them, each pair once.
        let mut both: Vec<(usize, usize)> = (0..2)
            .flat_map(|i| {
                let c = XcorrConfig {
                    instance: i,
                    instances: 2,
                    ..XcorrConfig::default()
                };
                select(&c, &chans).into_iter().map(|p| (p.src, p.rcv))
            })
            .collect();
        both.sort();
        let mut all: Vec<_> = select(&cfg, &chans)
            .into_iter()
            .map(|p| (p.src, p.rcv))
            .collect();
        all.sort();
        assert_eq!(both, all);
    }

    #[test]
    fn virtual_sources_and_lists() {
        let chans = vec![ch("A", "HHZ"), ch("B", "HHZ"), ch("C", "HHZ")];
        let cfg = XcorrConfig {
            mode: Mode::Sources,
            sources: vec!["FR.B.*".into()],
            ..XcorrConfig::default()
        };
        let p: Vec<_> = select(&cfg, &chans)
            .iter()
            .map(|p| (p.src, p.rcv))
            .collect();
        assert_eq!(p, vec![(1, 0), (1, 2)]);
        let cfg = XcorrConfig {
            mode: Mode::List,
            pairs: vec![["FR.C.00.HHZ".into(), "FDSN:FR_A_00_H_H_Z".into()]],
            ..XcorrConfig::default()
        };
        let p: Vec<_> = select(&cfg, &chans)
            .iter()
            .map(|p| (p.src, p.rcv))
            .collect();
        assert_eq!(p, vec![(2, 0)]);
    }
}
