//! The page's look: layout sizes, CSS, the legend and the colour of each disconnect reason,
//! fault kind and message lane.

use crate::event::DisconnectReason as R;

/// Width of the label column left of the chart.
pub(super) const LABEL_W: f64 = 140.0;
/// Width of the time axis.
pub(super) const CHART_W: f64 = 1400.0;
/// The right edge of the chart.
pub(super) const RIGHT: f64 = LABEL_W + CHART_W;
/// Height of a client row.
pub(super) const ROW_H: f64 = 18.0;
/// Height of the server, proxy and client-host rows, which plot a count.
pub(super) const SUM_H: f64 = 30.0;
/// Height of one label lane above the rows (faults, violations).
pub(super) const LANE_H: f64 = 17.0;
/// Height of the time axis labels.
pub(super) const AXIS_H: f64 = 20.0;
/// Rough width of a character of the 11 px label font.
pub(super) const CHAR_W: f64 = 6.2;
/// The group of clients seen only in server or proxy events.
pub(super) const NO_HOST: &str = "(no client events)";

pub(super) const STYLE: &str = "body{font:13px system-ui,sans-serif;color:#1f2937;margin:16px 12px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:15px;margin:22px 0 6px}.meta{color:#6b7280}
.sub{white-space:pre-wrap;font:12px ui-monospace,monospace;padding:6px 10px;border-radius:4px;
background:#f3f4f6;display:inline-block}.pass{background:#dcfce7}.fail{background:#fee2e2}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 12px;font-size:12px;max-width:1500px}
.legend span{display:inline-flex;align-items:center;gap:5px}.chart{overflow-x:auto}
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 10px;text-align:left;
border-bottom:1px solid #e5e7eb;vertical-align:top}td.t{text-align:right;white-space:nowrap}
svg text{font:11px system-ui,sans-serif;fill:#374151}text.h{font-weight:600}
text.s{font-size:10px;fill:#6b7280}text.bad,td.bad{fill:#b91c1c;color:#b91c1c;font-weight:600}
.grid{stroke:#e5e7eb}.axis{stroke:#9ca3af}.r0{fill:#fff}.r1{fill:#f8fafc}.rh{fill:#f1f5f9}
.conn{fill:#3da066}.pres{fill:#64748b}.away{fill:#f5b301}.band{fill:#f5b301;opacity:.22}
.try{stroke:#64748b;stroke-width:1.5}.tick{stroke:#334155}.dis{stroke:#fff;stroke-width:.8}
.wait{stroke:#94a3b8;stroke-dasharray:2 2}.viol{stroke:#dc2626;stroke-width:1.5}
.vm{fill:#dc2626;stroke:#fff}.ring{fill:#fff;stroke:#9333ea;stroke-width:1.5}
.gave{stroke:#111827;stroke-width:2}.left{stroke:#334155;stroke-width:1.5}
.kill{fill:#92400e;stroke:#fff;stroke-width:.6}.start{fill:#15803d;stroke:#15803d;stroke-width:1.5}
.fw{fill-opacity:.07}.fh{fill-opacity:.15}.fl{stroke-width:1.5;stroke-dasharray:4 2}
.m0,.m1,.m2,.m3{fill:none;stroke-width:2}.m0{stroke:#2563eb;stroke-width:2.5}
.m1{stroke:#ea580c;stroke-width:2.5}.m2{stroke:#14532d}.m3{stroke:#fff;stroke-opacity:.75}
.sessions{fill:#2563eb;stroke:#2563eb}.conns{fill:#7c3aed;stroke:#7c3aed}
.up{fill:#3da066;stroke:#3da066}.area{fill-opacity:.35}";

/// Legend swatches for the marks every page may have (22×14 px each).
pub(super) const LEGEND: &str = r#"<rect class="conn" y="3" width="22" height="8"/>|connected
<line class="tick" x1="3" x2="3" y1="3" y2="11"/><line class="try" x1="3" x2="22" y1="7" y2="7"/>|connection attempt
<line class="wait" x1="0" x2="22" y1="7" y2="7"/>|backoff wait
<circle class="ring" cx="11" cy="7" r="3.2"/>|resumed, session lost
<path class="gave" d="M7 3l8 8m0 -8l-8 8"/>|gave up
<path class="m0" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message sent
<path class="m1" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message buffered
<path class="m2" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message acked
<rect class="conn" y="2" width="22" height="10"/><path class="m3" d="M2 7h2M7 7h4M15 7h2"/>|message received
<rect class="pres" y="10" width="22" height="3"/>|server: present
<rect class="band" width="22" height="14"/><rect class="away" y="10" width="22" height="3"/>|server: away (grace)
<path class="left" d="M8 4l6 6m0 -6l-6 6"/>|server: user left
<path class="start" d="M8 14V1l6 3l-6 3"/>|server started
<path class="kill" d="M11 2l5 5l-5 5l-5 -5z"/>|proxy idle kill
<circle class="r-connect_timeout" cx="11" cy="7" r="2.6"/>|attempt failed (colour: reason)
<line class="viol" x1="11" x2="11" y1="0" y2="14"/><circle class="vm" cx="11" cy="5" r="4.5"/>|violation"#;

/// Disconnect reasons and their markers' colours.
pub(super) const REASONS: [(R, &str); 7] = [
    (R::PingTimeout, "#e8590c"),
    (R::ServerSilent, "#c2255c"),
    (R::ClosedByPeer, "#1c7ed6"),
    (R::Reset, "#0c8599"),
    (R::ConnectTimeout, "#7048e8"),
    (R::ConnectFailed, "#868e96"),
    (R::ClientClosed, "#212529"),
];

/// Fault kinds and their windows' colours.
pub(super) const FAULTS: [(&str, &str); 9] = [
    ("partition", "#7c3aed"),
    ("one_way", "#a21caf"),
    ("state_loss", "#4338ca"),
    ("latency", "#0284c7"),
    ("crash", "#57534e"),
    ("sleep", "#4d7c0f"),
    ("proxy_conn", "#db2777"),
    ("clock_step", "#0d9488"),
    ("clock_drift", "#0d9488"),
];

/// Message events, each drawn as marks in its own lane (offset from the row's top).
pub(super) const MESSAGES: [(&str, f64); 4] = [
    ("message_sent", 2.0),
    ("message_buffered", 2.0),
    ("message_acked", 5.5),
    ("message_received", 10.5),
];
