//! The pipeline's station metadata while it runs: read at start and, with
//! `[metadata] refresh_s`, read again on that schedule by a thread of its own, so that a
//! long-running pipeline picks up new stations and new epochs without a restart.
//!
//! Stages hold an `Arc<Live>` and take the [`Live::current`] catalogue when they need one
//! (a read lock and an `Arc` clone). A refresh that fails keeps the catalogue there is, with
//! a warning naming the source; one that succeeds replaces it whole and raises the
//! [`Live::generation`], which the stages that prepare responses use in their cache keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use super::{fetch, Catalogue};
use crate::model::{now, Iso};

pub struct Live {
    current: RwLock<Arc<Catalogue>>,
    generation: AtomicU64,
    sources: Vec<String>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("sources", &self.sources)
            .field("generation", &self.generation())
            .field("epochs", &self.current().epochs().len())
            .finish()
    }
}

impl Live {
    /// A catalogue that does not change.
    pub fn fixed(catalogue: Catalogue) -> Arc<Live> {
        Arc::new(Live {
            current: RwLock::new(Arc::new(catalogue)),
            generation: AtomicU64::new(0),
            sources: Vec::new(),
        })
    }

    /// Reads `sources`, then again every `refresh` (if any) for as long as the `Live` is held.
    pub fn start(sources: Vec<String>, refresh: Option<Duration>) -> Result<Arc<Live>, String> {
        let first = fetch::load(&sources)?;
        let live = Arc::new(Live {
            current: RwLock::new(Arc::new(first)),
            generation: AtomicU64::new(0),
            sources,
        });
        if let Some(every) = refresh {
            let weak = Arc::downgrade(&live);
            std::thread::Builder::new()
                .name("metadata-refresh".into())
                .spawn(move || refresh_loop(weak, every))
                .map_err(|e| format!("cannot start the metadata refresh: {e}"))?;
        }
        Ok(live)
    }

    pub fn current(&self) -> Arc<Catalogue> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Raised by every successful refresh.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Reads the sources again; on success the new catalogue replaces the old one.
    pub fn reload(&self) -> Result<(), String> {
        let c = fetch::load(&self.sources)?;
        let (before, after) = (self.current().epochs().len(), c.epochs().len());
        for p in &c.problems {
            tracing::warn!("station metadata: {p}");
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
        self.generation.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            before,
            after,
            "station metadata refreshed from {}",
            self.sources.join(", ")
        );
        Ok(())
    }
}

/// Sleeps in short steps (so that a dropped `Live` ends the thread soon), reloads when due.
fn refresh_loop(live: Weak<Live>, every: Duration) {
    let mut due = Instant::now() + every;
    loop {
        std::thread::sleep(Duration::from_millis(200).min(every));
        let Some(l) = live.upgrade() else { return };
        if Instant::now() < due {
            continue;
        }
        due = Instant::now() + every;
        if let Err(e) = l.reload() {
            tracing::warn!(
                next = %Iso(now() + every.as_nanos() as i64),
                "station metadata refresh failed, the metadata read before stay in use: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_iso, SeedId};

    #[test]
    fn a_scheduled_refresh_replaces_the_catalogue_and_a_failed_one_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let xml = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("test-data/stationxml/IU_ULN_00_LH1.xml"),
        )
        .unwrap();
        let path = dir.path().join("stations.xml");
        std::fs::write(&path, &xml).unwrap();
        let live = Live::start(
            vec![path.display().to_string()],
            Some(Duration::from_millis(300)),
        )
        .unwrap();
        let id = SeedId::new("IU", "ULN", "00", "LH1");
        let t = parse_iso("2015-07-18T02:00:00").unwrap();
        let lat = |l: &Live| l.current().at(&id, t).unwrap().latitude.unwrap();
        assert_eq!(lat(&live), 47.8651);
        assert_eq!(live.generation(), 0);
        // The station moves (as a corrected epoch would): the next refresh brings it.
        std::fs::write(&path, xml.replace("47.8651", "47.9")).unwrap();
        let t0 = Instant::now();
        while lat(&live) != 47.9 {
            assert!(t0.elapsed() < Duration::from_secs(10), "not refreshed");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(live.generation() >= 1);
        // A source that stops reading leaves the last good catalogue in place.
        std::fs::write(&path, "not xml").unwrap();
        let g = live.generation();
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(live.generation(), g);
        assert_eq!(lat(&live), 47.9);
    }
}
