package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Options says what to check.
type Options struct {
	Dir      string   // directory `go list` runs in (inside the module)
	Patterns []string // package patterns, e.g. ./...
	Tags     []string // build tags, e.g. tensorflow
	Tests    bool     // check _test.go files too
	// Env is added to the environment of every go command (tests set
	// GOFLAGS, GOPROXY, GOWORK).
	Env []string
}

// Problem is one type error located in a checked file.
type Problem struct {
	Pos token.Position
	Msg string
}

// Relative formats p with its file name relative to dir when shorter.
func (p Problem) Relative(dir string) string {
	pos := p.Pos
	if rel, err := filepath.Rel(dir, pos.Filename); err == nil && !strings.HasPrefix(rel, "..") {
		pos.Filename = rel
	}
	return fmt.Sprintf("%s: %s", pos, p.Msg)
}

// Result lists the packages checked and the problems found in them.
type Result struct {
	Packages []string
	Problems []Problem
}

// Checker type-checks packages; it keeps the dependencies it checked from
// source and the standard library's export data between calls to Check, so
// checking several modules that share dependencies reads them once.
type Checker struct {
	fset    *token.FileSet
	deps    map[string]*types.Package // key: dir + "\x00" + import path
	exports map[string]string         // std import path -> export data file
	std     types.Importer
}

// NewChecker returns a Checker with empty caches.
func NewChecker() *Checker {
	c := &Checker{
		fset:    token.NewFileSet(),
		deps:    map[string]*types.Package{},
		exports: map[string]string{},
	}
	c.std = importer.ForCompiler(c.fset, "gc", c.lookupExport)
	return c
}

type listModule struct {
	Path      string
	Main      bool
	GoVersion string
}

type listError struct {
	Pos string
	Err string
}

type listPackage struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	CgoFiles     []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	TestImports  []string
	XTestImports []string
	ImportMap    map[string]string
	Standard     bool
	DepOnly      bool
	ForTest      string
	Module       *listModule
	Error        *listError
}

func (p *listPackage) main() bool { return p.Module != nil && p.Module.Main }

func (p *listPackage) goVersion() string {
	if p.Module == nil || p.Module.GoVersion == "" {
		return ""
	}
	return "go" + p.Module.GoVersion
}

func (p *listPackage) resolve(path string) string {
	if r, ok := p.ImportMap[path]; ok {
		return r
	}
	return path
}

// Check lists the packages matching o.Patterns with o.Tags and type-checks
// them and their tests; problems are reported only for the main module's
// files (dependencies are read for their API, their own errors dropped).
func (c *Checker) Check(ctx context.Context, o Options) (*Result, error) {
	pkgs, err := c.list(ctx, o)
	if err != nil {
		return nil, err
	}
	s := &session{c: c, o: o, pkgs: pkgs, done: map[string]*types.Package{}, busy: map[string]bool{}, seen: map[string]bool{}}
	if err := c.loadExports(ctx, o, pkgs); err != nil {
		return nil, err
	}

	var targets []*listPackage
	for _, p := range pkgs {
		if !p.DepOnly && p.main() {
			targets = append(targets, p)
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].ImportPath < targets[j].ImportPath })

	res := &Result{}
	for _, p := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.Error != nil && !hasFiles(p) {
			// Not a package under these tags (every file excluded).
			continue
		}
		if p.Error != nil && !strings.Contains(p.Error.Err, "no non-test Go files") {
			s.report(p.Error.Pos, p.Error.Err)
		}
		res.Packages = append(res.Packages, p.ImportPath)
		base := s.pkg(p.ImportPath)
		if !o.Tests {
			continue
		}
		withTests := base
		if len(p.TestGoFiles) > 0 {
			files := append(append(append([]string{}, p.GoFiles...), p.CgoFiles...), p.TestGoFiles...)
			withTests = s.check(p, p.ImportPath, files, true, nil)
		}
		if len(p.XTestGoFiles) > 0 {
			s.check(p, p.ImportPath+"_test", p.XTestGoFiles, true, s.testVariants(p.ImportPath, withTests, base))
		}
	}
	res.Problems = s.problems
	sort.Slice(res.Problems, func(i, j int) bool {
		a, b := res.Problems[i].Pos, res.Problems[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return res, nil
}

func hasFiles(p *listPackage) bool {
	return len(p.GoFiles)+len(p.CgoFiles)+len(p.TestGoFiles)+len(p.XTestGoFiles) > 0
}

func (c *Checker) goCmd(ctx context.Context, o Options, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.Dir
	cmd.Env = append(append(os.Environ(), o.Env...), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// list runs one `go list -deps [-test]`. CGO_ENABLED=1 keeps cgo files in
// CgoFiles (with cgo off they would be dropped as excluded); without
// -compiled, go list does not run cgo, so no C compiler or header is needed.
func (c *Checker) list(ctx context.Context, o Options) (map[string]*listPackage, error) {
	args := []string{"list", "-e", "-deps",
		"-json=ImportPath,Dir,Name,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,Imports,TestImports,XTestImports,ImportMap,Standard,DepOnly,ForTest,Module,Error"}
	if len(o.Tags) > 0 {
		args = append(args, "-tags="+strings.Join(o.Tags, ","))
	}
	if o.Tests {
		args = append(args, "-test")
	}
	args = append(args, o.Patterns...)
	out, err := c.goCmd(ctx, o, []string{"CGO_ENABLED=1"}, args...)
	if err != nil {
		return nil, err
	}
	pkgs := map[string]*listPackage{}
	variants := map[string]*listPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		if strings.HasSuffix(p.ImportPath, ".test") && p.Name == "main" {
			continue // generated test main
		}
		if i := strings.Index(p.ImportPath, " ["); i >= 0 {
			// A test variant: same files as the plain package, recompiled
			// against a package under test. Keep it only when the plain
			// package is not listed on its own.
			p.ImportPath = p.ImportPath[:i]
			p.DepOnly = true
			variants[p.ImportPath] = &p
			continue
		}
		pkgs[p.ImportPath] = &p
	}
	for path, p := range variants {
		if _, ok := pkgs[path]; !ok {
			pkgs[path] = p
		}
	}
	return pkgs, nil
}

// loadExports asks the go command, once, for the export data of every
// standard package that a package checked from source imports. cgo is off
// for this step: the standard library's API is the same without it and no
// C compiler is needed.
func (c *Checker) loadExports(ctx context.Context, o Options, pkgs map[string]*listPackage) error {
	need := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			continue
		}
		for _, list := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range list {
				imp = p.resolve(imp)
				if q, ok := pkgs[imp]; ok && q.Standard && imp != "unsafe" && imp != "C" && imp != "runtime/cgo" {
					if _, have := c.exports[imp]; !have {
						need[imp] = true
					}
				}
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	paths := make([]string, 0, len(need))
	for p := range need {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return c.exportsFor(ctx, o, paths)
}

func (c *Checker) exportsFor(ctx context.Context, o Options, paths []string) error {
	args := append([]string{"list", "-e", "-export", "-json=ImportPath,Export,Error"}, paths...)
	out, err := c.goCmd(ctx, o, []string{"CGO_ENABLED=0"}, args...)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Export     string
			Error      *listError
		}
		if err := dec.Decode(&p); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("decode go list -export output: %w", err)
		}
		if p.Export != "" {
			c.exports[p.ImportPath] = p.Export
		}
	}
}

func (c *Checker) lookupExport(path string) (io.ReadCloser, error) {
	f, ok := c.exports[path]
	if !ok {
		// Normally unused: export data is self-contained. Ask once more.
		if err := c.exportsFor(context.Background(), Options{}, []string{path}); err != nil {
			return nil, err
		}
		if f, ok = c.exports[path]; !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
	}
	return os.Open(f)
}

// session is one Check call: the listed packages and what was checked.
type session struct {
	c        *Checker
	o        Options
	pkgs     map[string]*listPackage
	done     map[string]*types.Package
	busy     map[string]bool
	seen     map[string]bool
	problems []Problem
}

func (s *session) report(pos, msg string) {
	var p token.Position
	if pos != "" {
		p = parsePos(pos)
	}
	s.add(p, msg)
}

func parsePos(s string) token.Position {
	var pos token.Position
	parts := strings.Split(s, ":")
	pos.Filename = parts[0]
	if len(parts) > 1 {
		fmt.Sscan(parts[1], &pos.Line)
	}
	if len(parts) > 2 {
		fmt.Sscan(parts[2], &pos.Column)
	}
	return pos
}

// pkg returns the type-checked package for a resolved import path.
func (s *session) pkg(path string) *types.Package {
	if path == "unsafe" {
		return types.Unsafe
	}
	if p, ok := s.done[path]; ok {
		return p
	}
	lp, ok := s.pkgs[path]
	if !ok || lp.Standard {
		p, err := s.c.std.Import(path)
		if err != nil {
			p = types.NewPackage(path, filepath.Base(path))
		}
		s.done[path] = p
		return p
	}
	key := lp.Dir + "\x00" + path
	if !lp.main() {
		if p, ok := s.c.deps[key]; ok {
			s.done[path] = p
			return p
		}
	}
	if s.busy[path] {
		// An import cycle; go list reports it on the package.
		return types.NewPackage(path, lp.Name)
	}
	s.busy[path] = true
	p := s.check(lp, path, append(append([]string{}, lp.GoFiles...), lp.CgoFiles...), lp.main(), nil)
	delete(s.busy, path)
	s.done[path] = p
	if !lp.main() {
		s.c.deps[key] = p
	}
	return p
}

// testVariants returns the import override of an external test package
// of under: under itself is the package with its test files, and, as the
// go command does, every dependency that imports under (directly or not)
// is checked again against that package, so types match across them.
func (s *session) testVariants(under string, withTests, base *types.Package) func(string) (*types.Package, bool) {
	if withTests == base {
		return func(path string) (*types.Package, bool) { return nil, false }
	}
	variants := map[string]*types.Package{under: withTests}
	reaches := map[string]bool{}
	var dependsOn func(path string) bool
	dependsOn = func(path string) bool {
		if path == under {
			return true
		}
		if r, ok := reaches[path]; ok {
			return r
		}
		reaches[path] = false // cycles: assume no, as go list reports them
		lp, ok := s.pkgs[path]
		if !ok || lp.Standard || !lp.main() {
			return false
		}
		for _, imp := range lp.Imports {
			if dependsOn(lp.resolve(imp)) {
				reaches[path] = true
				return true
			}
		}
		return false
	}
	var variant func(path string) (*types.Package, bool)
	variant = func(path string) (*types.Package, bool) {
		if p, ok := variants[path]; ok {
			return p, true
		}
		if !dependsOn(path) {
			return nil, false
		}
		lp := s.pkgs[path]
		variants[path] = types.NewPackage(path, lp.Name) // cycle guard
		p := s.check(lp, path, append(append([]string{}, lp.GoFiles...), lp.CgoFiles...), false, variant)
		variants[path] = p
		return p, true
	}
	return variant
}

// check type-checks files of lp as package path. Bodies are checked and
// errors kept only for the main module; dependencies are read for their
// API. override, when not nil, gives the packages to use instead of the
// plain ones (the test variants of an external test package).
func (s *session) check(lp *listPackage, path string, names []string, full bool, override func(string) (*types.Package, bool)) *types.Package {
	files, perrs := s.c.parse(lp.Dir, names, full)
	if len(lp.CgoFiles) > 0 {
		for _, f := range files {
			giveCTypesUnderlying(f)
		}
	}
	if full {
		for _, e := range perrs {
			var list scanner.ErrorList
			if errors.As(e, &list) {
				for _, e := range list {
					s.add(e.Pos, e.Msg)
				}
				continue
			}
			s.add(token.Position{}, e.Error())
		}
	}
	conf := types.Config{
		GoVersion:        lp.goVersion(),
		FakeImportC:      true,
		IgnoreFuncBodies: !full,
		Sizes:            types.SizesFor("gc", runtime.GOARCH),
		Importer: importerFunc(func(imp string) (*types.Package, error) {
			imp = lp.resolve(imp)
			if override != nil {
				if p, ok := override(imp); ok {
					return p, nil
				}
			}
			return s.pkg(imp), nil
		}),
		Error: func(err error) {
			if !full {
				return
			}
			var te types.Error
			if errors.As(err, &te) {
				s.add(te.Fset.Position(te.Pos), te.Msg)
				return
			}
			s.add(token.Position{}, err.Error())
		},
	}
	pkg, _ := conf.Check(path, s.c.fset, files, nil)
	return pkg
}

func (s *session) add(pos token.Position, msg string) {
	key := pos.String() + "\x00" + msg
	if !s.seen[key] {
		s.seen[key] = true
		s.problems = append(s.problems, Problem{Pos: pos, Msg: msg})
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// parse reads files of dir in parallel; parse errors come back in order.
func (c *Checker) parse(dir string, names []string, full bool) ([]*ast.File, []error) {
	mode := parser.SkipObjectResolution
	if full {
		mode |= parser.AllErrors | parser.ParseComments
	}
	files := make([]*ast.File, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			files[i], errs[i] = parser.ParseFile(c.fset, filepath.Join(dir, name), nil, mode)
		}()
	}
	wg.Wait()
	var out []*ast.File
	var perrs []error
	for i := range files {
		if files[i] != nil {
			out = append(out, files[i])
		}
		if errs[i] != nil {
			perrs = append(perrs, errs[i])
		}
	}
	return out, perrs
}

// cBasic maps C types cgo translates to Go basic types.
var cBasic = map[string]string{
	"char": "int8", "schar": "int8", "uchar": "uint8",
	"short": "int16", "ushort": "uint16",
	"int": "int32", "uint": "uint32",
	"long": "int64", "ulong": "uint64", "longlong": "int64", "ulonglong": "uint64",
	"float": "float32", "double": "float64",
	"size_t": "uint64", "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16",
	"int32_t": "int32", "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64",
}

// giveCTypesUnderlying rewrites a cgo file's declarations `type T C.X` so
// that T gets a basic underlying type: C.X itself maps to its Go basic
// type, and any other C name (in practice an enum typedef such as
// TF_DataType, which cgo translates to uint32) to uint32. With
// FakeImportC alone T's underlying type is invalid, and then every
// conversion to T and every use of T's constants in the checked code
// would be reported as an error that the real build does not have.
func giveCTypesUnderlying(f *ast.File) {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			sel, ok := ts.Type.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "C" {
				continue
			}
			basic, ok := cBasic[sel.Sel.Name]
			if !ok {
				basic = "uint32"
			}
			ts.Type = &ast.Ident{NamePos: sel.Pos(), Name: basic}
		}
	}
}
