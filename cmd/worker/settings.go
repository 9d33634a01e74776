package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting is one configuration value: an environment variable and a flag
// (the variable's name in lower case with dashes), parsed into its
// target. Its default is whatever the target holds before loading: the
// owning package's default, written there once.
type setting struct {
	env   string
	usage string
	parse parser
}

// parser stores a setting's text into its target and shows its value.
type parser struct {
	fn     func(string) error
	show   func() string
	isBool bool // the flag may be given without a value
	secret bool // a credential: never printed
}

func (s setting) flagName() string {
	return strings.ReplaceAll(strings.ToLower(s.env), "_", "-")
}

// rawValue holds a setting's text until every source has been read.
type rawValue struct {
	s      string
	isBool bool
	secret bool // never shown, not even as the default in --help
}

func (v *rawValue) String() string {
	if v.secret {
		return ""
	}
	return v.s
}
func (v *rawValue) Set(s string) error { v.s = s; return nil }
func (v *rawValue) IsBoolFlag() bool   { return v.isBool }

// settings is an ordered table of settings.
type settings []setting

// load applies, in rising priority, the defaults, the environment and the
// flags in args, then parses every value; an error names the setting.
// aliases maps extra flag names to settings' env names.
func (ss settings) load(fs *flag.FlagSet, args []string, getenv func(string) string, aliases map[string]string) error {
	values := make(map[string]*rawValue, len(ss))
	for _, s := range ss {
		v := &rawValue{s: s.parse.show(), isBool: s.parse.isBool, secret: s.parse.secret}
		if e := getenv(s.env); e != "" {
			v.s = e
		}
		values[s.env] = v
		fs.Var(v, s.flagName(), fmt.Sprintf("%s [$%s]", s.usage, s.env))
	}
	for alias, env := range aliases {
		fs.Var(values[env], alias, "same as --"+setting{env: env}.flagName())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range ss {
		if err := s.parse.fn(values[s.env].s); err != nil {
			return fmt.Errorf("invalid %s (--%s) %q: %w", s.env, s.flagName(), values[s.env].s, err)
		}
	}
	return nil
}

func str(p *string) parser {
	return parser{fn: func(v string) error { *p = v; return nil }, show: func() string { return *p }}
}

func secret(p *string) parser {
	pr := str(p)
	pr.secret = true
	return pr
}

func list(p *[]string) parser {
	return parser{fn: func(v string) error {
		*p = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				*p = append(*p, s)
			}
		}
		return nil
	}, show: func() string { return strings.Join(*p, ",") }}
}

// integer parses into every target: one setting may configure several
// packages (WORKER_STREAM_REPLICAS).
func integer(ps ...*int) parser {
	return parser{fn: func(v string) error {
		n, err := strconv.Atoi(v)
		for _, p := range ps {
			*p = n
		}
		return err
	}, show: func() string { return strconv.Itoa(*ps[0]) }}
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// size parses a byte count with an optional KiB, MiB or GiB suffix.
func size[T int | int64](p *T) parser {
	return parser{fn: func(v string) error {
		mult := int64(1)
		for _, u := range sizeUnits {
			if n, ok := strings.CutSuffix(v, u.suffix); ok {
				v, mult = n, u.mult
				break
			}
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		*p = T(n * mult)
		return err
	}, show: func() string {
		n := int64(*p)
		for _, u := range sizeUnits {
			if n != 0 && n%u.mult == 0 {
				return strconv.FormatInt(n/u.mult, 10) + u.suffix
			}
		}
		return strconv.FormatInt(n, 10)
	}}
}

func float(p *float64) parser {
	return parser{fn: func(v string) (err error) { *p, err = strconv.ParseFloat(v, 64); return err },
		show: func() string { return strconv.FormatFloat(*p, 'g', -1, 64) }}
}

// boolean parses into every target, like integer.
func boolean(ps ...*bool) parser {
	return parser{fn: func(v string) error {
		b, err := strconv.ParseBool(v)
		for _, p := range ps {
			*p = b
		}
		return err
	}, show: func() string { return strconv.FormatBool(*ps[0]) }, isBool: true}
}

func duration(p *time.Duration) parser {
	return parser{fn: func(v string) (err error) { *p, err = time.ParseDuration(v); return err },
		show: func() string { return shortDuration(*p) }}
}

// shortDuration prints 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
