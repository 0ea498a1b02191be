package app

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The dialogs: rooms (create, and the seed's five room commands), a
// confirmation before a room is deleted, the server settings and the
// profile. They are native <dialog>s, always in the page and opened with
// showModal (focus moves in, Escape closes, the rest of the page is
// inert); s.dialog names the open one and syncDialogs makes the page
// agree after each render.

// openDialog opens one of the dialogs, filling its fields from the View.
func (s *Shell) openDialog(id string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		s.navOpen = false
		s.dialog = id
		switch id {
		case dlgProfile:
			s.setValue("profileAlias", s.view.Me.Alias)
			s.setValue("profileToday", s.view.Me.Today)
			s.setValue("profilePassword", "")
		case dlgSettings:
			s.setValue("hostInput", s.view.Host)
			s.setValue("portInput", s.view.Port)
		}
		s.afterDialog(ctx)
	}
}

// openRoomDialog opens the room dialog: empty to create a room, or with
// the selected room's id and its current name to rename it.
func (s *Shell) openRoomDialog(rename bool) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		s.navOpen = false
		s.dialog, s.renamed = dlgRoom, rename
		id, name := "", ""
		if r := s.view.Room; rename && r != nil {
			id, name = r.ID, r.Name
		}
		s.setValue("roomIdInput", id)
		s.setValue("roomNameInput", name)
		s.afterDialog(ctx)
	}
}

func (s *Shell) afterDialog(ctx app.Context) {
	if app.IsClient {
		ctx.Defer(func(app.Context) { s.syncDialogs() })
	}
}

func (s *Shell) closeDialog(ctx app.Context, _ app.Event) {
	s.dialog = ""
	s.afterDialog(ctx)
}

// onDialogClosed follows a dialog the browser closed (Escape).
func (s *Shell) onDialogClosed(id string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		if s.dialog == id {
			s.dialog = ""
		}
	}
}

// syncDialogs opens the dialog s.dialog names and closes the others.
func (s *Shell) syncDialogs() {
	for _, id := range []string{dlgRoom, dlgConfirm, dlgSettings, dlgProfile} {
		el := app.Window().GetElementByID(id)
		if !el.Truthy() {
			continue
		}
		switch open := el.Get("open").Bool(); {
		case id == s.dialog && !open:
			el.Call("showModal")
		case id != s.dialog && open:
			el.Call("close")
		}
	}
}

// onRoom sends the room command of one of the room dialog's buttons, for
// the room its fields name; Delete asks first.
func (s *Shell) onRoom(command string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		f := roomForm{Command: command, ID: s.value("roomIdInput"), Name: s.value("roomNameInput")}
		if command == shared.RoomDelete {
			s.askDelete(f.ID)(ctx, e)
			return
		}
		post(ctx, actionRoom, f)
	}
}

// onRoomCommand sends a room command for the room id (the menu, the join
// buttons).
func (s *Shell) onRoomCommand(command, id string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		post(ctx, actionRoom, roomForm{Command: command, ID: id})
	}
}

// confirmation is what the confirmation dialog asks about: deleting a
// room or a message, for everyone.
type confirmation struct {
	room string   // the room's id
	msg  *MsgItem // or the message
}

// askDelete asks before a room is deleted for everyone.
func (s *Shell) askDelete(id string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		s.confirm = &confirmation{room: id}
		s.dialog = dlgConfirm
		s.afterDialog(ctx)
	}
}

// askDeleteMessage asks before a message is deleted for everyone; the
// caller syncs the dialogs.
func (s *Shell) askDeleteMessage(m MsgItem) {
	s.confirm = &confirmation{msg: &m}
	s.dialog = dlgConfirm
}

func (s *Shell) onConfirm(ctx app.Context, _ app.Event) {
	switch c := s.confirm; {
	case c == nil:
	case c.msg != nil:
		post(ctx, actionDelete, c.msg.Seq)
		if s.editing != nil && s.editing.Seq == c.msg.Seq {
			s.editing = nil
			s.clearBox()
		}
	default:
		post(ctx, actionRoom, roomForm{Command: shared.RoomDelete, ID: c.room})
	}
	s.confirm = nil
	s.closeDialog(ctx, app.Event{})
	focusID("dataInput")
}

func (s *Shell) onConnect(ctx app.Context, _ app.Event) {
	post(ctx, actionConnect, connectForm{Host: s.value("hostInput"), Port: s.value("portInput")})
}

func (s *Shell) onProfile(ctx app.Context, _ app.Event) {
	post(ctx, actionProfile, profileForm{
		Password: s.value("profilePassword"), Alias: s.value("profileAlias"), Today: s.value("profileToday"),
	})
	s.setValue("profilePassword", "")
}

func (s *Shell) renderDialogs() app.UI {
	return app.Div().Class("dialogs").Body(
		s.renderRoomDialog(),
		s.renderConfirm(),
		s.renderSettings(),
		s.renderProfile(),
	)
}

// dialog is the frame every dialog shares: a title and a close button.
func (s *Shell) dialogFrame(id, title string, body ...app.UI) app.UI {
	return app.Dialog().ID(id).Class("dialog").Aria("labelledby", id+"Title").
		On("close", s.onDialogClosed(id)).
		Body(
			app.Div().Class("dialog-head").Body(
				app.H2().ID(id+"Title").Text(title),
				app.Button().Class("icon-button close").Type("button").
					Aria("label", s.t("close")).Text("✕").OnClick(s.closeDialog),
			),
			app.Div().Class("dialog-body").Body(body...),
		)
}

func (s *Shell) renderRoomDialog() app.UI {
	button := func(id, cmd, key string, primary bool) app.UI {
		class := "chip"
		if primary {
			class = "primary"
		}
		return app.Button().ID(id).Class(class).Type("button").Text(s.t(key)).OnClick(s.onRoom(cmd), app.EventScope(cmd))
	}
	title, create := s.t("room.create.title"), !s.renamed
	if s.renamed {
		title = s.t("room.rename.title")
	}
	return s.dialogFrame(dlgRoom, title,
		app.Label().Class("label").Body(
			app.Span().Text(s.t("room.id")),
			app.Input().ID("roomIdInput").Type("text").Class("field").
				AutoComplete(false).Spellcheck(false).MaxLength(shared.MaxRoomID),
		),
		app.Label().Class("label").Body(
			app.Span().Text(s.t("room.name")),
			app.Input().ID("roomNameInput").Type("text").Class("field").
				AutoComplete(false).MaxLength(shared.MaxRoomName),
		),
		app.Div().Class("buttons").Body(
			button("createRoomButton", shared.RoomCreate, "room.create", create),
			button("updateRoomButton", shared.RoomUpdate, "room.update", !create),
			button("joinRoomButton", shared.RoomJoin, "room.join", false),
			button("leaveRoomButton", shared.RoomLeave, "room.leave", false),
			button("deleteRoomButton", shared.RoomDelete, "room.delete", false),
		),
		slot(s.dialog == dlgRoom, func() app.UI { return s.notice("roomNotice", "room") }),
	)
}

func (s *Shell) renderConfirm() app.UI {
	text, title := "", s.t("room.delete.title")
	switch c := s.confirm; {
	case c == nil:
	case c.msg != nil:
		title = s.t("msg.delete.title")
		text = trf(s.lang(), "msg.delete.confirm", clip(c.msg.Text, 80))
	default:
		text = trf(s.lang(), "room.delete.confirm", c.room)
	}
	return s.dialogFrame(dlgConfirm, title,
		app.P().ID("confirmText").Text(text),
		app.Div().Class("buttons").Body(
			app.Button().ID("confirmCancel").Class("chip").Type("button").Text(s.t("cancel")).OnClick(s.closeDialog),
			app.Button().ID("confirmOK").Class("primary danger").Type("button").Text(s.t("room.delete")).OnClick(s.onConfirm),
		),
	)
}

func (s *Shell) renderSettings() app.UI {
	v := &s.view
	return s.dialogFrame(dlgSettings, s.t("settings.title"),
		app.P().Class("lead").Text(s.t("server.lead")),
		app.Div().Class("fields").Body(
			app.Label().Class("label host").Body(
				app.Span().Text(s.t("host")),
				app.Input().ID("hostInput").Type("text").Class("field").Value(v.Host).
					AutoComplete(false).Spellcheck(false),
			),
			app.Label().Class("label port").Body(
				app.Span().Text(s.t("port")),
				app.Input().ID("portInput").Type("text").Class("field").Value(v.Port).
					Attr("inputmode", "numeric").AutoComplete(false),
			),
		),
		app.Div().Class("buttons").Body(
			app.Button().ID("connectButton").Class("primary").Type("button").
				Text(s.t("connect")).OnClick(s.onConnect),
		),
		s.notice("connectNotice", "connect"),
	)
}

func (s *Shell) renderProfile() app.UI {
	field := func(id, typ, key, auto string, max int) app.UI {
		return app.Label().Class("label").Body(
			app.Span().Text(s.t(key)),
			app.Input().ID(id).Type(typ).Class("field").Attr("autocomplete", auto).MaxLength(max),
		)
	}
	return s.dialogFrame(dlgProfile, s.t("profile.title"),
		field("profileAlias", "text", "alias", "nickname", shared.MaxAlias),
		field("profileToday", "text", "today", "off", shared.MaxToday),
		field("profilePassword", "password", "profile.password", "current-password", shared.MaxPassword),
		app.Div().Class("buttons").Body(
			app.Button().ID("profileSave").Class("primary").Type("button").
				Text(s.t("profile.save")).OnClick(s.onProfile),
		),
		s.notice("profileNotice", "profile"),
	)
}
