package report_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/diagnose/report"
)

// writeReport diagnoses a hand-made metrics file and writes its report.
func writeReport(t *testing.T, name string) (string, []diagnose.Finding) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := diagnose.ReadRows(f)
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.NewRun(rows)
	r.Dir = name
	fs := diagnose.Diagnose(r, diagnose.DefaultThresholds(0))
	page, err := report.Write(filepath.Join(t.TempDir(), "report"), r, fs)
	if err != nil {
		t.Fatal(err)
	}
	return page, fs
}

var imgRE = regexp.MustCompile(`<img src="([^"]+)"`)

func TestReportPlotsAreRealImagesBesideTheirFindings(t *testing.T) {
	page, fs := writeReport(t, "overfitting")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	srcs := imgRE.FindAllStringSubmatch(string(html), -1)
	want := map[string]bool{"losses.png": true, "lr.png": true, "grad_norms.png": true, "update_ratios.png": true, "validation.png": true, "timing.png": true}
	for _, m := range srcs {
		src := m[1]
		if strings.Contains(src, "/") || strings.Contains(src, ":") {
			t.Errorf("image %q is not a file beside the page", src)
		}
		delete(want, src)
		b, err := os.ReadFile(filepath.Join(filepath.Dir(page), src))
		if err != nil {
			t.Errorf("plot %s: %v", src, err)
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width < 300 || cfg.Height < 150 {
			t.Errorf("plot %s: %v, %dx%d", src, err, cfg.Width, cfg.Height)
		}
	}
	for src := range want {
		t.Errorf("the report has no %s", src)
	}
	if len(fs) == 0 || fs[0].ID != diagnose.IDOverfitting {
		t.Fatalf("findings %v, want overfitting first", fs)
	}
	// The overfitting finding is shown in the validation plot's section.
	sec := string(html)[strings.Index(string(html), `id="plot-validation"`):]
	sec = sec[:strings.Index(sec, "</div>\n</div>")]
	if !strings.Contains(sec, diagnose.IDOverfitting) {
		t.Errorf("validation section does not show the overfitting finding:\n%s", sec)
	}
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "https://") {
		t.Error("the report refers to the network; it must open from disk")
	}
}

// checkScript reports, once the page has loaded, how many images loaded
// and which did not.
const checkScript = `<script>
window.addEventListener("load", function () {
  var ok = 0, bad = [];
  for (const img of document.images) {
    if (img.complete && img.naturalWidth > 0) { ok++; } else { bad.push(img.getAttribute("src")); }
  }
  var p = document.createElement("pre");
  p.id = "img-check";
  p.textContent = "IMG-CHECK ok=" + ok + " broken=[" + bad.join(",") + "]";
  document.body.appendChild(p);
});
</script>`

var checkRE = regexp.MustCompile(`IMG-CHECK ok=(\d+) broken=\[([^\]]*)\]`)

// browserCheck opens page (with the check script added) in headless
// chromium and returns the number of loaded images and the broken ones.
func browserCheck(t *testing.T, chromium, page string, screenshot string) (int, string) {
	t.Helper()
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	check := filepath.Join(filepath.Dir(page), "browser-check.html")
	if err := os.WriteFile(check, []byte(strings.Replace(string(html), "</body>", checkScript+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", "file://"+check)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	m := checkRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("the page's image check did not run; DOM:\n%.2000s", out)
	}
	var ok int
	fmt.Sscan(m[1], &ok)
	if screenshot != "" {
		cmd := exec.CommandContext(ctx, chromium, append(args, "--window-size=1400,3000", "--screenshot="+screenshot, "file://"+page)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, b)
		}
	}
	return ok, m[2]
}

func findChromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	const why = "chromium is not installed (apt-get install -y chromium): the report is not checked in a browser"
	if os.Getenv("GRAFTRAIN_REQUIRE_BROWSER") != "" {
		// CI sets this: there the browser check must run, not skip.
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

func TestReportOpensInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	chromium := findChromium(t)
	page, _ := writeReport(t, "overfitting")
	n := len(imgRE.FindAllString(mustRead(t, page), -1))
	shot := filepath.Join(t.TempDir(), "report.png")
	ok, broken := browserCheck(t, chromium, page, shot)
	if broken != "" || ok != n || n < 6 {
		t.Fatalf("chromium loaded %d of %d plots; broken: %s", ok, n, broken)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 800 {
		t.Fatalf("screenshot: %v %dx%d", err, cfg.Width, cfg.Height)
	}

	// The check itself must catch a plot that does not load.
	if err := os.Remove(filepath.Join(filepath.Dir(page), "lr.png")); err != nil {
		t.Fatal(err)
	}
	ok, broken = browserCheck(t, chromium, page, "")
	if broken != "lr.png" || ok != n-1 {
		t.Fatalf("with lr.png removed: %d loaded, broken %q; want %d and lr.png", ok, broken, n-1)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
