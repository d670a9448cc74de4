//! Channel requests: GPADLs, open, close, teardown, release (sheet §3.6–§3.8).

use alloc::vec::Vec;

use super::{
    Action, Channel, ChannelState, Client, Event, Gpadl, GpadlState, RequestError, MAX_GPADLS,
};
use crate::message::{
    ChannelMessage, GpadlMessages, MessageError, OpenChannel, GPADL_MAX_PFNS, OPEN_USERDATA_SIZE,
};
use crate::range::{PageRange, PAGE_SIZE};

impl Client {
    /// A live (offered, not rescinded) channel.
    fn live_channel(&mut self, relid: u32) -> Result<&mut Channel, RequestError> {
        let ch = self
            .channels
            .get_mut(&relid)
            .ok_or(RequestError::UnknownChannel(relid))?;
        if ch.rescinded {
            return Err(RequestError::Rescinded(relid));
        }
        Ok(ch)
    }

    fn allocate_gpadl(&mut self) -> Result<u32, RequestError> {
        if self.gpadls.len() >= MAX_GPADLS {
            return Err(RequestError::TooManyGpadls);
        }
        // At most MAX_GPADLS handles are taken, so this ends quickly.
        loop {
            let id = self.next_gpadl;
            self.next_gpadl = self.next_gpadl.wrapping_add(1);
            if id != 0 && !self.gpadls.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    /// Describes `range` to the host for channel `relid`; the handle is
    /// returned now, [`Event::GpadlCreated`] follows.
    pub fn create_gpadl(
        &mut self,
        relid: u32,
        range: PageRange<'_>,
    ) -> Result<(u32, Vec<Action>), RequestError> {
        let session = self.session()?;
        self.live_channel(relid)?;
        let pages = range.pfns().len();
        if pages > GPADL_MAX_PFNS {
            return Err(RequestError::Message(MessageError::TooManyPfns(pages)));
        }
        let gpadl = self.allocate_gpadl()?;
        let messages = GpadlMessages::new(relid, gpadl, range).map_err(RequestError::Message)?;
        let out = messages
            .map(|message| Action::Post {
                connection_id: session.connection_id,
                message,
            })
            .collect();
        let whole =
            range.byte_offset() == 0 && u64::from(range.byte_count()) == pages as u64 * PAGE_SIZE;
        self.gpadls.insert(
            gpadl,
            Gpadl {
                relid,
                whole_pages: whole.then_some(pages),
                state: GpadlState::Creating,
            },
        );
        Ok((gpadl, out))
    }

    /// Opens channel `relid` over the rings in `gpadl`: pages
    /// `[0, downstream)` guest → host, the rest host → guest (§4.1).
    /// [`Event::Opened`] follows.
    pub fn open_channel(
        &mut self,
        relid: u32,
        gpadl: u32,
        downstream_page_offset: u32,
        target_vp: u32,
        userdata: &[u8],
    ) -> Result<Vec<Action>, RequestError> {
        let session = self.session()?;
        if userdata.len() > OPEN_USERDATA_SIZE {
            return Err(RequestError::UserDataTooLong(userdata.len()));
        }
        let ch = self.live_channel(relid)?;
        if ch.state != ChannelState::Closed {
            return Err(RequestError::ChannelBusy(relid));
        }
        let g = self
            .gpadls
            .get(&gpadl)
            .ok_or(RequestError::UnknownGpadl(gpadl))?;
        if g.state != GpadlState::Ready {
            return Err(RequestError::GpadlNotReady(gpadl));
        }
        if g.relid != relid {
            return Err(RequestError::GpadlOtherChannel {
                gpadl,
                relid: g.relid,
            });
        }
        let pages = g.whole_pages.unwrap_or(0);
        let down = downstream_page_offset as usize;
        // Each ring: one header page and at least one data page.
        if down < 2 || pages < down + 2 {
            return Err(RequestError::RingSplit {
                pages,
                downstream: downstream_page_offset,
            });
        }
        let mut data = [0; OPEN_USERDATA_SIZE];
        data[..userdata.len()].copy_from_slice(userdata);
        let msg = ChannelMessage::OpenChannel(OpenChannel {
            relid,
            openid: relid,
            ring_gpadl: gpadl,
            target_vp,
            downstream_page_offset,
            userdata: data,
        });
        let ch = self.live_channel(relid)?;
        ch.state = ChannelState::Opening;
        ch.ring_gpadl = Some(gpadl);
        Ok(alloc::vec![Self::post(&session, msg)])
    }

    /// Closes an open channel (no reply comes). For a rescinded channel
    /// nothing is posted: the host has closed it already.
    pub fn close_channel(&mut self, relid: u32) -> Result<Vec<Action>, RequestError> {
        let session = self.session()?;
        let ch = self
            .channels
            .get_mut(&relid)
            .ok_or(RequestError::UnknownChannel(relid))?;
        if ch.state != ChannelState::Open {
            return Err(RequestError::ChannelNotOpen(relid));
        }
        ch.state = ChannelState::Closed;
        ch.ring_gpadl = None;
        if ch.rescinded {
            return Ok(Vec::new());
        }
        Ok(alloc::vec![Self::post(
            &session,
            ChannelMessage::CloseChannel { relid }
        )])
    }

    /// Tears a GPADL down; [`Event::GpadlTornDown`] follows (at once, and
    /// without a message, if its channel was rescinded — as Linux does).
    pub fn teardown_gpadl(&mut self, gpadl: u32) -> Result<Vec<Action>, RequestError> {
        let session = self.session()?;
        let g = self
            .gpadls
            .get(&gpadl)
            .ok_or(RequestError::UnknownGpadl(gpadl))?;
        if g.state != GpadlState::Ready {
            return Err(RequestError::GpadlNotReady(gpadl));
        }
        let relid = g.relid;
        let ch = self.channels.get(&relid);
        if ch.is_some_and(|c| c.ring_gpadl == Some(gpadl)) {
            return Err(RequestError::GpadlInUse(gpadl));
        }
        if ch.is_none_or(|c| c.rescinded) {
            self.gpadls.remove(&gpadl);
            return Ok(alloc::vec![Action::Event(Event::GpadlTornDown { gpadl })]);
        }
        if let Some(g) = self.gpadls.get_mut(&gpadl) {
            g.state = GpadlState::TearingDown;
        }
        Ok(alloc::vec![Self::post(
            &session,
            ChannelMessage::GpadlTeardown { relid, gpadl }
        )])
    }

    /// Gives a rescinded channel's relid back to the host (RELID_RELEASED)
    /// and forgets the channel and its GPADLs. Call it once the driver has
    /// stopped touching the channel's memory.
    pub fn release_channel(&mut self, relid: u32) -> Result<Vec<Action>, RequestError> {
        let session = self.session()?;
        let ch = self
            .channels
            .get(&relid)
            .ok_or(RequestError::UnknownChannel(relid))?;
        if !ch.rescinded {
            return Err(RequestError::NotRescinded(relid));
        }
        self.channels.remove(&relid);
        self.gpadls.retain(|_, g| g.relid != relid);
        Ok(alloc::vec![Self::post(
            &session,
            ChannelMessage::RelidReleased { relid }
        )])
    }
}
