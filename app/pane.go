package app

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The conversation pane: its header (with the room's menu), the log
// (#log: the login card or the landing hint, #result and the outbox) and
// the composer.

func (s *Shell) renderPane(state string) app.UI {
	v := &s.view
	return app.Main().Class("pane").Body(
		app.Header().Class("pane-head").Body(
			app.Button().ID("menuButton").Class("icon-button menu").Type("button").
				Aria("label", s.t("menu")).Aria("expanded", s.navOpen).
				OnClick(s.onMenu).Body(
				app.Span().Class("burger").Aria("hidden", true),
				app.Span().Class("status-dot").DataSet("state", state).Aria("hidden", true),
			),
			app.Div().Class("pane-title").Body(
				app.H1().ID("convTitle").Text(v.Title),
				app.P().Class("pane-sub").Text(v.Subtitle),
			),
			slot(v.Room != nil && v.LoggedIn, s.renderRoomMenu),
		),
		slot(s.update, func() app.UI {
			return app.Div().ID("updateNotice").Class("banner").Role("status").Body(
				app.Span().Text(s.t("update")+" — "),
				app.Button().ID("updateButton").Class("chip strong").Type("button").
					Text(s.t("update.reload")).OnClick(s.onReload),
			)
		}),
		slot(s.dialog != dlgRoom, func() app.UI { return app.Div().Class("pane-notice").Body(s.notice("roomNotice", "room")) }),
		app.Div().
			ID("log").
			Class("log").
			TabIndex(0).
			Aria("label", s.t("log")).
			DataSet("history", v.History).
			Body(
				slot(!v.LoggedIn, s.renderLogin),
				slot(v.LoggedIn && v.Selected == everything, s.renderLanding),
				slot(v.NeedJoin, func() app.UI {
					return app.Div().Class("banner join").Body(
						app.Span().Text(s.t("room.join.hint")),
						app.Button().ID("joinHintButton").Class("chip strong").Type("button").
							Text(s.t("room.join")).OnClick(s.onRoomCommand(shared.RoomJoin, v.ToRecipient), app.EventScope(v.Selected)),
					)
				}),
				slot(v.LoggedIn && !v.NeedJoin, s.renderEdge),
				app.Div().ID("result").Class("messages").Aria("live", "polite").Body(
					app.Range(v.Messages).Slice(func(i int) app.UI {
						seq := v.Messages[i].Seq
						return &msgRow{
							Item: v.Messages[i], Lang: s.lang(), Everything: v.Selected == everything,
							Actions: v.LoggedIn, Open: s.actions == seq, Picking: s.picker == seq,
						}
					}),
				),
				app.Div().ID("outbox").Class("messages").Body(
					app.Range(v.Pending).Slice(func(i int) app.UI { return s.renderPending(v.Pending[i]) }),
				),
				slot(v.Newer, func() app.UI {
					return app.P().ID("newerEdge").Class("edge").DataSet("state", histLoading).Text(s.t("history.newer"))
				}),
				app.If(v.LoggedIn && v.History == histStart && len(v.Messages) == 0 && len(v.Pending) == 0 && !v.NeedJoin, func() app.UI {
					return app.P().Class("empty").Text(s.t("empty"))
				}),
			),
		app.P().ID("typing").Class("typing").Role("status").Text(typingLine(s.lang(), v.Typing)),
		s.renderComposer(),
	)
}

// typingLine says who is typing: one or two names, or "several people".
func typingLine(lang string, names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return trf(lang, "typing.one", names[0])
	case 2:
		return trf(lang, "typing.two", names[0], names[1])
	}
	return tr(lang, "typing.many")
}

// renderEdge is the old end of the log: a spinner while a page loads,
// the start of the conversation once there is nothing older.
func (s *Shell) renderEdge() app.UI {
	v := &s.view
	text := ""
	switch {
	case v.History == histLoading:
		text = s.t("history.loading")
	case v.History == histStart && len(v.Messages) > 0:
		text = s.t("history.start")
	}
	return app.P().ID("historyEdge").Class("edge").DataSet("state", v.History).Hidden(text == "").Text(text)
}

// renderRoomMenu is the selected room's menu: rename and delete for its
// owner, leave or join. Its handlers name the room, so they are scoped by
// it and by the item: go-app reuses the menu's elements for the next room
// and for items that come and go.
func (s *Shell) renderRoomMenu() app.UI {
	r := s.view.Room
	item := func(id, key string, h app.EventHandler) app.UI {
		return app.Button().ID(id).Class("menu-item").Type("button").Text(s.t(key)).
			OnClick(func(ctx app.Context, e app.Event) { closeMenu(); h(ctx, e) }, app.EventScope(r.Conv, id))
	}
	return app.Details().ID("roomMenu").Class("room-menu").Body(
		app.Summary().ID("roomMenuButton").Class("chip").Text(s.t("room.menu")),
		app.Div().Class("menu-list").Body(
			app.If(r.Owned, func() app.UI { return item("menuRename", "room.rename", s.openRoomDialog(true)) }),
			app.If(r.Member, func() app.UI {
				return item("menuLeave", "room.leave", s.onRoomCommand(shared.RoomLeave, r.ID))
			}).Else(func() app.UI {
				return item("menuJoin", "room.join", s.onRoomCommand(shared.RoomJoin, r.ID))
			}),
			app.If(r.Owned, func() app.UI {
				return item("menuDelete", "room.delete.ask", s.askDelete(r.ID))
			}),
		),
	)
}

// closeMenu closes the room menu: the browser keeps a <details> open, and
// go-app reuses the element for the next room.
func closeMenu() {
	if app.IsClient {
		if m := app.Window().GetElementByID("roomMenu"); m.Truthy() {
			m.Set("open", false)
		}
	}
}

func (s *Shell) renderLogin() app.UI {
	field := func(id, typ, label, auto string, max int, optional bool) app.UI {
		in := app.Input().ID(id).Type(typ).Class("field").Attr("autocomplete", auto).
			OnKeyDown(s.onLoginKey)
		if max > 0 {
			in = in.MaxLength(max)
		}
		if id == "idInput" {
			in = in.Value(s.view.LastID).Spellcheck(false).Attr("autocapitalize", "none")
		}
		text := label
		if optional {
			text += " (" + s.t("optional") + ")"
		}
		return app.Label().Class("label").Body(app.Span().Text(text), in)
	}
	return app.Section().ID("login").Class("card login").Aria("labelledby", "loginTitle").Body(
		app.H2().ID("loginTitle").Text(s.t("login.title")),
		app.P().Class("lead").Text(s.t("login.lead")),
		app.Div().Class("grid").Body(
			field("idInput", "text", s.t("id"), "username", shared.MaxUserID, false),
			field("passwordInput", "password", s.t("password"), "current-password", shared.MaxPassword, false),
			field("aliasInput", "text", s.t("alias"), "nickname", shared.MaxAlias, true),
			field("todayInput", "text", s.t("today"), "off", shared.MaxToday, true),
		),
		app.Button().ID("loginButton").Class("primary").Type("button").Text(s.t("login")).OnClick(s.onLogin),
		s.notice("loginNotice", "login"),
	)
}

// renderLanding says what to do next in "All messages".
func (s *Shell) renderLanding() app.UI {
	return app.Section().ID("landing").Class("card landing").Aria("labelledby", "landingTitle").Body(
		app.H2().ID("landingTitle").Text(s.t("landing.title")),
		app.P().Class("lead").Text(s.t("landing.pick")),
		app.P().Class("lead phone-only").Text(s.t("landing.phone")),
	)
}

func (s *Shell) renderPending(p PendingItem) app.UI {
	me := s.view.Me.Alias
	if me == "" {
		me = s.view.Me.ID
	}
	return app.Article().
		Class("msg pending").
		DataSet("cid", p.CID).
		DataSet("mine", true).
		DataSet("first", true).
		Body(
			app.Div().Class("msg-row").Body(
				avatar(me),
				app.Div().Class("msg-body").Body(
					app.Div().Class("msg-meta").Body(
						app.Span().Class("msg-alias").Text(me),
						app.If(p.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(p.Where) }),
						app.Span().Class("msg-time").Text(s.t("pending")),
					),
					app.P().Class("msg-text").Text(p.Text),
				),
			),
		)
}
