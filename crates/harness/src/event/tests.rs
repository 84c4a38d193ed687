//! Tests of the event union and its JSON form.

use super::*;

#[test]
fn json_line_has_t_ms_host_event_then_fields_in_order() {
    let ev = Event {
        t: Duration::from_micros(12_345_678),
        host: "clients-1".into(),
        kind: EventKind::Client {
            client: "web-0".into(),
            event: ClientEvent::Disconnected {
                reason: DisconnectReason::PingTimeout,
            },
        },
    };
    assert_eq!(
        serde_json::to_string(&ev).unwrap(),
        r#"{"t_ms":12345,"host":"clients-1","event":"disconnected","client":"web-0","reason":"ping_timeout"}"#
    );
}

#[test]
fn fault_start_flattens_the_fault_description() {
    let ev = Event {
        t: Duration::from_secs(60),
        host: "sim".into(),
        kind: EventKind::FaultStart {
            id: 0,
            fault: FaultDesc::Partition {
                a: "clients-1".into(),
                b: "proxy".into(),
                duration_ms: 5000,
            },
        },
    };
    assert_eq!(
        serde_json::to_string(&ev).unwrap(),
        r#"{"t_ms":60000,"host":"sim","event":"fault_start","id":0,"fault":"partition","a":"clients-1","b":"proxy","duration_ms":5000}"#
    );
}

#[test]
fn a_host_fault_names_its_host_target_so_no_key_repeats() {
    let faults = [
        FaultDesc::Crash {
            host: "server".into(),
            duration_ms: 5000,
            silent: false,
        },
        FaultDesc::Sleep {
            host: "clients-1".into(),
            duration_ms: 5000,
        },
        FaultDesc::ClockStep {
            host: "server".into(),
            by_ms: -1000,
        },
        FaultDesc::ClockDrift {
            host: "server".into(),
            ppm: 500,
            duration_ms: 5000,
        },
    ];
    for fault in faults {
        let ev = Event {
            t: Duration::ZERO,
            host: "sim".into(),
            kind: EventKind::FaultStart { id: 3, fault },
        };
        let line = serde_json::to_string(&ev).unwrap();
        assert_eq!(line.matches(r#""host":"#).count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["host"], "sim", "{line}");
        assert!(v["target"].is_string(), "{line}");
    }
}

#[test]
fn name_matches_the_serialized_tag() {
    let kind = EventKind::Client {
        client: "c".into(),
        event: ClientEvent::Reconnecting {
            attempt: 2,
            delay: Duration::from_millis(10),
        },
    };
    let v = serde_json::to_value(&kind).unwrap();
    assert_eq!(v["event"], kind.name());
}
