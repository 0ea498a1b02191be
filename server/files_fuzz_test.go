package server

import (
	"bytes"
	"mime"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"chatapp/server/store"
	"chatapp/shared"
)

// FuzzFileName: decodeFileName never panics; a name it accepts is 1–255
// characters of valid UTF-8 with no path separator, control or format
// character and is not . or ..; and it comes back unchanged from the
// places the server writes it: the file's URL (as the router's {name...}
// reads it) and the Content-Disposition header (as a browser parses it).
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"a.txt", "cat picture.png", "%EC%82%AC%EC%A7%84.png", "a%2Fb", "..", "%2E%2E",
		"a%00b", "a%zz", "a%", "%C3", `"quoted".txt`, "a+b", "%E2%80%AE", "a%0D%0Ab", strings.Repeat("x", 300),
		"semi;colon=.txt", "back\\slash", "%F0%9F%98%80.gif", "tab%09"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		name, bad := decodeFileName(h)
		if bad != nil {
			if bad.Code != shared.CodeBadRequest || name != "" {
				t.Fatalf("%q: refused with %+v and name %q", h, bad, name)
			}
			return
		}
		if name == "" || !utf8.ValidString(name) || shared.RuneLen(name) > shared.MaxFileName ||
			strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			t.Fatalf("%q: accepted %q", h, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q: accepted %q with %U", h, name, r)
			}
		}
		u, err := url.Parse(store.FileURL("AAAA", name))
		if err != nil {
			t.Fatalf("%q: URL %v", name, err)
		}
		if got, ok := strings.CutPrefix(u.Path, "/files/AAAA/"); !ok || got != name {
			t.Fatalf("%q: URL %s reads back as %q", name, store.FileURL("AAAA", name), got)
		}
		for _, disp := range []string{"inline", "attachment"} {
			d := mime.FormatMediaType(disp, map[string]string{"filename": name})
			got, params, err := mime.ParseMediaType(d)
			if err != nil || got != disp || params["filename"] != name {
				t.Fatalf("%q: Content-Disposition %q reads back as %q %v %v", name, d, got, params, err)
			}
		}
	})
}

// FuzzInspectImage: inspectImage never panics and, whatever the bytes,
// says either "no image", or an inline type with a size within
// maxImagePixels, or that the image is too large.
func FuzzInspectImage(f *testing.F) {
	f.Add(pngBytes(f, 3, 2))
	f.Add(jpegBytes(f, 8, 8))
	f.Add(gifBytes(f, 2, 2))
	f.Add(webpHeader(640, 480))
	f.Add(pngHeader(20000, 20000))
	f.Add([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"))
	f.Add([]byte("<!doctype html>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := inspectImage(bytes.NewReader(b))
		if big, ok := err.(*imageTooLarge); ok {
			if int64(big.width)*int64(big.height) <= maxImagePixels {
				t.Fatalf("%d×%d refused", big.width, big.height)
			}
			return
		}
		if err != nil {
			t.Fatalf("error %v from a reader that cannot fail", err)
		}
		if img == (imageInfo{}) {
			return
		}
		if !inlineTypes[img.typ] || img.width <= 0 || img.height <= 0 || int64(img.width)*int64(img.height) > maxImagePixels {
			t.Fatalf("%+v", img)
		}
	})
}
