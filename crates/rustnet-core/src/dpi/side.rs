//! Direction as types instead of booleans: which end of a protocol
//! exchange sent a packet (`Side`), and which end of the tracked connection
//! it came from (`Dir`). They differ when the local host is the server, so
//! keeping them apart makes a mix-up a type error.
//!
//! `PerSide<T>` and `PerDir<T>` are two-slot arrays indexed by them (as
//! quinn-proto indexes per-side state by its `Side`).

use std::ops::{Index, IndexMut};

/// Role in the application protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
// Public only through `fuzzing` (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub enum Side {
    /// The side that opened the connection (or sent the first message).
    Client,
    /// The side that answered.
    Server,
}

impl Side {
    /// `Client` when `client`: for callers that derive the side from a bit
    /// (fuzz inputs, tests).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn client_if(client: bool) -> Self {
        if client { Side::Client } else { Side::Server }
    }
}

/// End of the tracked connection a packet came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    /// From the connection's local end (usually the client).
    #[default]
    Local,
    Remote,
}

impl Dir {
    /// `Local` when `from_local`, the engine's own flag.
    pub(crate) fn from_local(from_local: bool) -> Self {
        if from_local { Dir::Local } else { Dir::Remote }
    }

    pub(crate) fn other(self) -> Self {
        match self {
            Dir::Local => Dir::Remote,
            Dir::Remote => Dir::Local,
        }
    }

    /// The protocol side of this direction when `client` is the client's direction.
    pub(crate) fn side(self, client: Dir) -> Side {
        if self == client { Side::Client } else { Side::Server }
    }
}

macro_rules! per {
    ($name:ident, $key:ident, $a:ident, $b:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(crate) struct $name<T>(pub(crate) [T; 2]);

        impl<T> $name<T> {
            pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
                self.0.iter()
            }
        }

        impl<T> Index<$key> for $name<T> {
            type Output = T;
            fn index(&self, k: $key) -> &T {
                match k {
                    $key::$a => &self.0[0],
                    $key::$b => &self.0[1],
                }
            }
        }

        impl<T> IndexMut<$key> for $name<T> {
            fn index_mut(&mut self, k: $key) -> &mut T {
                match k {
                    $key::$a => &mut self.0[0],
                    $key::$b => &mut self.0[1],
                }
            }
        }
    };
}

per!(PerSide, Side, Client, Server, "One value per protocol side: `[client, server]`.");
per!(PerDir, Dir, Local, Remote, "One value per connection end: `[local, remote]`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_and_dirs_index_apart() {
        let mut s = PerSide([0, 0]);
        s[Side::Server] += 1;
        assert_eq!(s.0, [0, 1]);
        let mut d = PerDir([false; 2]);
        d[Dir::Local] = true;
        assert_eq!(d.0, [true, false]);
        assert_eq!(Dir::Remote.side(Dir::Remote), Side::Client);
        assert_eq!(Dir::Local.side(Dir::Remote), Side::Server);
        assert_eq!(Dir::from_local(false).other(), Dir::Local);
    }
}
