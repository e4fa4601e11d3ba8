//! The keymap: one table per context maps keys to `Action`s; the footer and the help overlay
//! are drawn from the same table, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app_state::Screen;

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Ctrl-C: stop a running apply (after asking), else quit.
    Interrupt,
    Help,
    NextScreen,
    PreviousScreen,
    Goto(Screen),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: open or close the details of the selection.
    Details,
    /// Esc: close details, clear a filter.
    Back,
    Refresh,
    Apply,
    ToggleUnchanged,
    CycleFilter,
    EditFilter,
    FinerPeriod,
    CoarserPeriod,
    NarrowerRange,
    WiderRange,
    Confirm,
    Cancel,
    /// `p` during a canary window: promote now.
    PromoteCanary,
    /// `a` during a canary window: roll back now.
    AbortCanary,
}

/// Where keys are read: a screen, or an overlay that takes every key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Screen(Screen),
    Dialog,
    Help,
}

/// One entry of the keymap.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// Ctrl must be held.
    pub ctrl: bool,
    /// How the keys are written in the footer and help.
    pub label: &'static str,
    /// The help overlay's line; empty for keys another line already describes.
    pub help: &'static str,
    pub action: Action,
    /// The footer's word for it; empty for keys shown only in help.
    pub short: &'static str,
}

const fn bind(
    keys: &'static [KeyCode],
    label: &'static str,
    short: &'static str,
    help: &'static str,
    action: Action,
) -> Binding {
    Binding {
        keys,
        ctrl: false,
        label,
        help,
        action,
        short,
    }
}

/// Moving the selection: the list screens' first keys.
const NAVIGATION: &[Binding] = &[
    bind(
        &[KeyCode::Char('j'), KeyCode::Down],
        "j/k",
        "move",
        "move the selection down / up (also ↓ ↑ and the mouse wheel)",
        Action::Down,
    ),
    // Described by the line above; an empty help keeps it out of the overlay.
    bind(&[KeyCode::Char('k'), KeyCode::Up], "k", "", "", Action::Up),
    bind(
        &[KeyCode::PageDown],
        "PgUp/Dn",
        "",
        "ten rows up / down",
        Action::PageDown,
    ),
    bind(&[KeyCode::PageUp], "PgUp", "", "", Action::PageUp),
    bind(
        &[KeyCode::Home, KeyCode::Char('g')],
        "g/G",
        "",
        "first / last row (also Home / End)",
        Action::Top,
    ),
    bind(
        &[KeyCode::End, KeyCode::Char('G')],
        "G",
        "",
        "",
        Action::Bottom,
    ),
];

const LAUNCH: &[Binding] = &[bind(
    &[KeyCode::Char('r')],
    "r",
    "reload",
    "read the stack again (account, observation, plan, local state)",
    Action::Refresh,
)];

const PLAN: &[Binding] = &[
    bind(
        &[KeyCode::Enter],
        "enter",
        "details",
        "show or hide the full details of the selected change",
        Action::Details,
    ),
    bind(
        &[KeyCode::Char('a')],
        "a",
        "apply",
        "apply this plan (asks first; nothing changes before you confirm)",
        Action::Apply,
    ),
    bind(
        &[KeyCode::Char('u')],
        "u",
        "unchanged",
        "show or hide unchanged resources",
        Action::ToggleUnchanged,
    ),
    bind(
        &[KeyCode::Char('r')],
        "r",
        "",
        "observe and plan again",
        Action::Refresh,
    ),
    bind(
        &[KeyCode::Esc],
        "esc",
        "",
        "close the details",
        Action::Back,
    ),
];

const DEPLOY: &[Binding] = &[
    bind(
        &[KeyCode::Char('f')],
        "f",
        "filter",
        "filter by state: all, pending, problems, done",
        Action::CycleFilter,
    ),
    bind(
        &[KeyCode::Char('/')],
        "/",
        "search",
        "filter by name (enter keeps it, esc clears it)",
        Action::EditFilter,
    ),
    bind(
        &[KeyCode::Esc],
        "esc",
        "",
        "clear the filters",
        Action::Back,
    ),
    bind(
        &[KeyCode::Char('p')],
        "p",
        "promote",
        "canary: promote now (all traffic to the new version, without waiting for the window)",
        Action::PromoteCanary,
    ),
    bind(
        &[KeyCode::Char('a')],
        "a",
        "abort",
        "canary: roll back now (all traffic back to the old version)",
        Action::AbortCanary,
    ),
    Binding {
        keys: &[KeyCode::Char('c')],
        ctrl: true,
        label: "C-c",
        short: "stop",
        help: "stop the apply (asks first; in-flight calls finish, the journal stays \
               consistent)",
        action: Action::Interrupt,
    },
];

const DASHBOARD: &[Binding] = &[
    bind(
        &[KeyCode::Char('['), KeyCode::Char(']')],
        "[ ]",
        "period",
        "finer / coarser period",
        Action::CoarserPeriod,
    ),
    bind(
        &[KeyCode::Char('-'), KeyCode::Char('+'), KeyCode::Char('=')],
        "- +",
        "range",
        "shorter / longer range",
        Action::WiderRange,
    ),
    bind(
        &[KeyCode::Char('r')],
        "r",
        "refresh",
        "refresh now",
        Action::Refresh,
    ),
];

const ALARMS: &[Binding] = &[
    bind(
        &[KeyCode::Enter],
        "enter",
        "details",
        "show or hide the selected alarm's details and history in full",
        Action::Details,
    ),
    bind(
        &[KeyCode::Char('r')],
        "r",
        "poll",
        "poll the alarms now",
        Action::Refresh,
    ),
    bind(
        &[KeyCode::Esc],
        "esc",
        "",
        "close the details",
        Action::Back,
    ),
];

const GLOBAL: &[Binding] = &[
    bind(
        &[
            KeyCode::Char('1'),
            KeyCode::Char('2'),
            KeyCode::Char('3'),
            KeyCode::Char('4'),
            KeyCode::Char('5'),
        ],
        "1-5",
        "screens",
        "launch, plan, deploy, dashboard, alarms (or click a tab)",
        Action::Goto(Screen::Launch),
    ),
    bind(
        &[KeyCode::Tab],
        "tab",
        "",
        "next screen",
        Action::NextScreen,
    ),
    bind(
        &[KeyCode::BackTab],
        "S-tab",
        "",
        "previous screen",
        Action::PreviousScreen,
    ),
    bind(
        &[KeyCode::Char('?')],
        "?",
        "help",
        "this help",
        Action::Help,
    ),
    bind(
        &[KeyCode::Char('q')],
        "q",
        "quit",
        "quit (asks first while an apply runs)",
        Action::Quit,
    ),
    Binding {
        keys: &[KeyCode::Char('c')],
        ctrl: true,
        label: "C-c",
        short: "",
        help: "stop a running apply (asks first), else quit",
        action: Action::Interrupt,
    },
];

const DIALOG: &[Binding] = &[
    bind(
        &[KeyCode::Char('y'), KeyCode::Enter],
        "y",
        "yes",
        "yes",
        Action::Confirm,
    ),
    bind(
        &[KeyCode::Char('n'), KeyCode::Esc],
        "n/esc",
        "no",
        "no",
        Action::Cancel,
    ),
];

const HELP: &[Binding] = &[bind(
    &[KeyCode::Char('?'), KeyCode::Esc, KeyCode::Char('q')],
    "?/esc",
    "close",
    "close help",
    Action::Help,
)];

/// The bindings of `context`: navigation on list screens, then its own, then the global
/// ones (for screens).
pub fn bindings(context: Context) -> impl Iterator<Item = &'static Binding> {
    type Table = &'static [Binding];
    let (navigation, own, global): (Table, Table, Table) = match context {
        Context::Screen(Screen::Launch) => (&[], LAUNCH, GLOBAL),
        Context::Screen(Screen::Plan) => (NAVIGATION, PLAN, GLOBAL),
        Context::Screen(Screen::Deploy) => (NAVIGATION, DEPLOY, GLOBAL),
        Context::Screen(Screen::Dashboard) => (NAVIGATION, DASHBOARD, GLOBAL),
        Context::Screen(Screen::Alarms) => (NAVIGATION, ALARMS, GLOBAL),
        Context::Dialog => (&[], DIALOG, &[]),
        Context::Help => (&[], HELP, &[]),
    };
    navigation.iter().chain(own).chain(global)
}

/// The action `key` triggers in `context`, if any.
pub fn action_for(context: Context, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if key.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    // The combined footer entries ("[ ]", "- +", "1-5") are resolved per key here.
    let specific = match (context, key.code, ctrl) {
        (Context::Screen(_) | Context::Dialog | Context::Help, KeyCode::Char('c'), true) => {
            return Some(Action::Interrupt);
        }
        (Context::Screen(_), KeyCode::Char(c @ '1'..='5'), false) => {
            let index = (c as usize) - ('1' as usize);
            Screen::ALL.get(index).map(|s| Action::Goto(*s))
        }
        (Context::Screen(Screen::Dashboard), KeyCode::Char('['), false) => {
            Some(Action::FinerPeriod)
        }
        (Context::Screen(Screen::Dashboard), KeyCode::Char(']'), false) => {
            Some(Action::CoarserPeriod)
        }
        (Context::Screen(Screen::Dashboard), KeyCode::Char('-'), false) => {
            Some(Action::NarrowerRange)
        }
        (Context::Screen(Screen::Dashboard), KeyCode::Char('+' | '='), false) => {
            Some(Action::WiderRange)
        }
        _ => None,
    };
    if specific.is_some() {
        return specific;
    }
    bindings(context)
        .find(|b| b.ctrl == ctrl && b.keys.contains(&key.code))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_footer_key_does_what_it_says() {
        let plan = Context::Screen(Screen::Plan);
        assert_eq!(
            action_for(plan, key(KeyCode::Char('a'))),
            Some(Action::Apply)
        );
        assert_eq!(
            action_for(plan, key(KeyCode::Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(action_for(plan, key(KeyCode::Down)), Some(Action::Down));
        assert_eq!(
            action_for(plan, key(KeyCode::Char('5'))),
            Some(Action::Goto(Screen::Alarms))
        );
        assert_eq!(
            action_for(plan, key(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
        let dash = Context::Screen(Screen::Dashboard);
        assert_eq!(
            action_for(dash, key(KeyCode::Char('['))),
            Some(Action::FinerPeriod)
        );
        assert_eq!(
            action_for(dash, key(KeyCode::Char(']'))),
            Some(Action::CoarserPeriod)
        );
        assert_eq!(
            action_for(dash, key(KeyCode::Char('+'))),
            Some(Action::WiderRange)
        );
        assert_eq!(
            action_for(dash, key(KeyCode::Char('-'))),
            Some(Action::NarrowerRange)
        );
        // `a` applies only on the plan screen.
        assert_eq!(action_for(dash, key(KeyCode::Char('a'))), None);
    }

    #[test]
    fn ctrl_c_interrupts_everywhere_and_plain_c_does_nothing() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for context in [
            Context::Dialog,
            Context::Help,
            Context::Screen(Screen::Deploy),
        ] {
            assert_eq!(action_for(context, ctrl_c), Some(Action::Interrupt));
        }
        assert_eq!(
            action_for(Context::Screen(Screen::Deploy), key(KeyCode::Char('c'))),
            None
        );
    }

    #[test]
    fn canary_keys_work_on_the_deploy_screen_only() {
        let deploy = Context::Screen(Screen::Deploy);
        assert_eq!(
            action_for(deploy, key(KeyCode::Char('p'))),
            Some(Action::PromoteCanary)
        );
        assert_eq!(
            action_for(deploy, key(KeyCode::Char('a'))),
            Some(Action::AbortCanary)
        );
        // On the plan screen `a` still applies.
        assert_eq!(
            action_for(Context::Screen(Screen::Plan), key(KeyCode::Char('a'))),
            Some(Action::Apply)
        );
        assert_eq!(
            action_for(Context::Screen(Screen::Alarms), key(KeyCode::Char('p'))),
            None
        );
    }

    #[test]
    fn overlays_take_every_key() {
        assert_eq!(
            action_for(Context::Dialog, key(KeyCode::Char('y'))),
            Some(Action::Confirm)
        );
        assert_eq!(action_for(Context::Dialog, key(KeyCode::Char('q'))), None);
        assert_eq!(action_for(Context::Dialog, key(KeyCode::Char('1'))), None);
        assert_eq!(
            action_for(Context::Help, key(KeyCode::Char('q'))),
            Some(Action::Help)
        );
    }

    #[test]
    fn every_screen_has_help_and_quit_in_its_footer() {
        for screen in Screen::ALL {
            let footer: Vec<&str> = bindings(Context::Screen(screen))
                .filter(|b| !b.short.is_empty())
                .map(|b| b.label)
                .collect();
            assert!(
                footer.contains(&"?") && footer.contains(&"q"),
                "{screen:?}: {footer:?}"
            );
        }
    }
}
