//! What is shown rather than what is sent: the encode step, the span under
//! the pointer or picked, and the short notice line.

/// Which bytes a highlight refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Outgoing,
    Incoming,
}

/// The last encode step: the whole frame.
pub const LAST_STEP: usize = 3;

/// A move through the encode steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMove {
    To(usize),
    Next,
    Prev,
    TogglePlay,
}

/// Changes to what is shown; none of them touches the frame or the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewAction {
    Step(StepMove),
    Hover(Option<(Pane, usize)>),
    Select(Option<(Pane, usize)>),
    Notice(Option<String>),
}

/// The view's own state. The default opens on a new message: at the first
/// encode step, with Play there.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    pub step: usize,
    pub playing: bool,
    /// The learner moved through the steps (Next, Previous, Play, a step's
    /// title): only then are the bytes outside the current step dimmed. A
    /// message just opened shows step 1 with every byte at full strength,
    /// or the first thing a newcomer sees is a faded frame.
    pub walking: bool,
    /// The span under the pointer, and the span picked by click or keyboard.
    pub hover: Option<(Pane, usize)>,
    pub selected: Option<(Pane, usize)>,
    /// A short note for the user (copy done, clipboard refused, ...).
    pub notice: Option<String>,
}

impl View {
    pub fn apply(&mut self, action: ViewAction) {
        match action {
            ViewAction::Step(step) => {
                self.walking = true;
                self.step(step)
            }
            ViewAction::Hover(h) => self.hover = h,
            ViewAction::Select(s) => self.selected = s,
            ViewAction::Notice(n) => self.notice = n,
        }
    }

    fn step(&mut self, step: StepMove) {
        match step {
            StepMove::To(n) => {
                self.step = n.min(LAST_STEP);
                self.playing = false;
            }
            StepMove::Next => {
                if self.step >= LAST_STEP {
                    self.playing = false;
                } else {
                    self.step += 1;
                    if self.step == LAST_STEP {
                        self.playing = false;
                    }
                }
            }
            StepMove::Prev => {
                self.step = self.step.saturating_sub(1);
                self.playing = false;
            }
            StepMove::TogglePlay => {
                self.playing = !self.playing;
                if self.playing {
                    self.step = 0;
                }
            }
        }
    }

    /// The encode step whose bytes stand out (the others dimmed), if any.
    pub fn focus_step(&self) -> Option<usize> {
        (self.walking && self.step < LAST_STEP).then_some(self.step)
    }

    /// The span to highlight in `pane`: the hovered one, else the selected one.
    pub fn highlight(&self, pane: Pane) -> Option<usize> {
        self.hover
            .or(self.selected)
            .filter(|(p, _)| *p == pane)
            .map(|(_, i)| i)
    }

    /// The span picked in `pane`.
    pub fn selected_in(&self, pane: Pane) -> Option<usize> {
        self.selected.filter(|(p, _)| *p == pane).map(|(_, i)| i)
    }

    /// Drops the selection in `pane`, whose bytes were replaced.
    pub fn forget(&mut self, pane: Pane) {
        if matches!(self.selected, Some((p, _)) if p == pane) {
            self.selected = None;
        }
    }

    /// The frame was edited: show it whole, with nothing picked in it.
    pub fn recomposed(&mut self) {
        self.step = LAST_STEP;
        self.playing = false;
        self.walking = false;
        self.forget(Pane::Outgoing);
        self.hover = None;
    }

    /// Another message was chosen (a preset, a link, a mode): start its
    /// encode steps from the first, so Play and Next tell its story.
    pub fn new_message(&mut self) {
        self.recomposed();
        self.step = 0;
    }
}
