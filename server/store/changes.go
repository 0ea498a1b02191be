package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"chatapp/shared"
)

// changeTarget is what a change needs to know of its message.
type changeTarget struct {
	conv      Conv
	command   string
	senderKey string
	recipient string
	mentions  sql.NullString
	deleted   bool
	file      sql.NullString
}

// writeChange stores change m (edit, delete or react; see Append) as
// event seq: it brings the message's row to its new state, adjusts the
// mention and reaction rows, and inserts the change's own row, which
// carries the conversation's current ord (a change is not a message).
// refused is the caller's error: ErrNotFound for a ref that is not a live
// message, ErrLimit for a reaction past the limit.
func (s *Store) writeChange(b *batchTx, c *commitState, m *shared.Message, senderKey string, seq int64, ts string) (refused, err error) {
	var t changeTarget
	err = b.stmt(s.changeTarget).QueryRowContext(b.ctx, int64(m.Ref)).
		Scan(&t.conv, &t.command, &t.senderKey, &t.recipient, &t.mentions, &t.deleted, &t.file)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (shared.IsChange(t.command) || t.deleted) {
		return fmt.Errorf("store: %s %d: %w", m.Command, m.Ref, ErrNotFound), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	ord, err := s.convOrd(b, c, t.conv)
	if err != nil {
		return nil, err
	}
	ref := int64(m.Ref)
	var on any // NULL but for react
	switch m.Command {
	case shared.CommandEdit:
		if _, err := b.stmt(s.editMessage).ExecContext(b.ctx, m.Data, ts, joinIDs(m.Mentions), ref); err != nil {
			return nil, fmt.Errorf("edit: %w", err)
		}
		if err := s.deleteMentions(b, t, ref); err != nil {
			return nil, err
		}
		if err := s.insertMentions(b, t.conv, m.Mentions, t.senderKey, ref); err != nil {
			return nil, err
		}
		m.Mentions = nil // the edit event carries none; the message has them
	case shared.CommandDelete:
		m.Data = ""
		for _, st := range []*sql.Stmt{s.deleteMessage, s.eraseEdits, s.deleteReactions} {
			if _, err := b.stmt(st).ExecContext(b.ctx, ref); err != nil {
				return nil, fmt.Errorf("delete: %w", err)
			}
		}
		if err := s.deleteMentions(b, t, ref); err != nil {
			return nil, err
		}
		if err := s.releaseFile(b, c, t.file); err != nil {
			return nil, err
		}
	case shared.CommandReact:
		added, err := s.toggleReaction(b, ref, m.Data, senderKey, m.Sender, ts)
		if err != nil {
			return nil, err
		}
		if added == nil {
			return fmt.Errorf("store: react %d: more than %d reactions: %w", m.Ref, shared.MaxReactions, ErrLimit), nil
		}
		m.On = added
		on = *added
	}
	m.Seq, m.Time, m.Recipient, m.Of, m.Type, m.Mentions, m.ReplyTo = shared.Seq(seq), ts, t.recipient, t.conv.Command(), "", nil, 0
	if _, err := b.stmt(s.insertEvent).ExecContext(b.ctx, seq, string(t.conv), ord, ts, m.Sender, senderKey,
		t.recipient, m.Command, "", m.CID, nil, nil, ref, on, nil, m.Data); err != nil {
		return nil, fmt.Errorf("insert change: %w", err)
	}
	return nil, nil
}

// deleteMentions removes the mention rows of message ref, whose current
// mentions t holds.
func (s *Store) deleteMentions(b *batchTx, t changeTarget, ref int64) error {
	if !t.mentions.Valid {
		return nil
	}
	for id := range strings.FieldsSeq(t.mentions.String) {
		if _, err := b.stmt(s.deleteMention).ExecContext(b.ctx, shared.Fold(id), string(t.conv), ref); err != nil {
			return fmt.Errorf("delete mention: %w", err)
		}
	}
	return nil
}

// toggleReaction adds user's reaction emoji to message ref, or removes it
// if it is there, and says which; nil when adding it would make more than
// shared.MaxReactions distinct ones.
func (s *Store) toggleReaction(b *batchTx, ref int64, emoji, userKey, user, ts string) (added *bool, err error) {
	res, err := b.stmt(s.deleteReaction).ExecContext(b.ctx, ref, emoji, userKey)
	if err != nil {
		return nil, fmt.Errorf("react: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return new(bool), nil
	}
	var distinct int
	var present bool
	if err := b.stmt(s.reactionKinds).QueryRowContext(b.ctx, ref, emoji).Scan(&distinct, &present); err != nil {
		return nil, fmt.Errorf("react: %w", err)
	}
	if !present && distinct >= shared.MaxReactions {
		return nil, nil
	}
	if _, err := b.stmt(s.insertReaction).ExecContext(b.ctx, ref, emoji, userKey, user, ts); err != nil {
		return nil, fmt.Errorf("react: %w", err)
	}
	yes := true
	return &yes, nil
}
