package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestRoundTrip: a table made in a fresh database keeps what is written,
// text in any script included.
func TestRoundTrip(t *testing.T) {
	c := connect(t, DB(t))
	ctx := t.Context()
	if _, err := c.Exec(ctx, `CREATE TABLE events (seq BIGINT PRIMARY KEY, conv TEXT NOT NULL, data TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{1: "hello", 2: "안녕하세요", 3: "größe 👍"}
	for seq, data := range want {
		if _, err := c.Exec(ctx, `INSERT INTO events (seq, conv, data) VALUES ($1, 'all', $2)`, seq, data); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := c.Query(ctx, `SELECT seq, data FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for rows.Next() {
		var seq int64
		var data string
		if err := rows.Scan(&seq, &data); err != nil {
			t.Fatal(err)
		}
		got[seq] = data
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %v, wrote %v", got, want)
	}
	for seq, data := range want {
		if got[seq] != data {
			t.Fatalf("seq %d: read %q, wrote %q", seq, got[seq], data)
		}
	}
}

// TestFreshDatabases: each DB is its own empty database.
func TestFreshDatabases(t *testing.T) {
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("DB returned %s twice", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	if _, err := ca.Exec(t.Context(), `CREATE TABLE only_in_a (x INT)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_a'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table made in one test database shows in another")
	}
}
