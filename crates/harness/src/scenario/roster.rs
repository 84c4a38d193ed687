//! The scenario's clients, one by one: each `[[clients]]` group expands to ids
//! `<group>-0`, `<group>-1`, … in file order. Every part of wsim that needs the clients
//! (the topology, validation, the checkers, the report) takes them from [`ScenarioFile::roster`].

use crate::scenario::model::{ClientGroup, ScenarioFile};

/// One client of a scenario.
#[derive(Debug, Clone)]
pub struct RosterEntry<'a> {
    /// Its id: `<group name>-<index in the group>`.
    pub id: String,
    /// The group it belongs to (its host, room, sending rate and start range).
    pub group: &'a ClientGroup,
}

/// The id prefix of client group `index`: its `name`, or `c<index>`.
#[must_use]
pub fn group_name(index: usize, name: Option<&str>) -> String {
    name.map_or_else(|| format!("c{index}"), str::to_string)
}

/// The id of the `i`th client of the group named `group`.
#[must_use]
pub fn client_id(group: &str, i: u32) -> String {
    format!("{group}-{i}")
}

impl ScenarioFile {
    /// Every client of the scenario, group by group in file order.
    pub fn roster(&self) -> impl Iterator<Item = RosterEntry<'_>> {
        self.clients.iter().enumerate().flat_map(|(gi, group)| {
            let name = group_name(gi, group.name.as_deref());
            (0..group.count).map(move |i| RosterEntry {
                id: client_id(&name, i),
                group,
            })
        })
    }
}
