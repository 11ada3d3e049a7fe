//! SeedLink, the real-time protocol of FDSN networks (v3 as SeisComP and ringserver speak
//! it, v4 as the FDSN specified it in 2023), in both roles.
//!
//! - [`wire`]: packet framing of both versions, read from bytes as they arrive and written.
//! - [`select`]: stream patterns (`NET_STA:LOC_B_S_SS`), their v3 translation, the server's
//!   STATION/SELECT matching.
//! - [`info`]: INFO documents (v3 XML, v4 JSON) and the protocol's time forms.
//! - [`client`]: one client connection: negotiation, resume, keepalives, stall detection.
//! - [`ring`], [`server`]: the server's packet ring (bounded, persisted) and its sessions.
//!
//! The pipeline stages that use them are `sources::seedlink` and `sinks::seedlink`; the
//! `seisreduce seedlink info` command uses [`client`] alone.

pub mod client;
pub mod info;
pub mod ring;
pub mod select;
pub mod server;
pub mod wire;
