package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting is one configuration value: an environment variable and a flag
// (the variable's name in lower case with dashes), parsed into its target.
type setting struct {
	env   string
	def   string
	usage string
	parse parser
}

// parser stores a setting's text into its target.
type parser struct {
	fn     func(string) error
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
		v := &rawValue{s: s.def, isBool: s.parse.isBool, secret: s.parse.secret}
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
	return parser{fn: func(v string) error { *p = v; return nil }}
}

func secret(p *string) parser {
	return parser{fn: func(v string) error { *p = v; return nil }, secret: true}
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
	}}
}

func integer(p *int) parser {
	return parser{fn: func(v string) (err error) { *p, err = strconv.Atoi(v); return err }}
}

// size parses a byte count with an optional KiB, MiB or GiB suffix.
func size(p *int64) parser {
	return parser{fn: func(v string) error {
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
			if n, ok := strings.CutSuffix(v, u.suffix); ok {
				v, mult = n, u.mult
				break
			}
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		*p = n * mult
		return err
	}}
}

func float(p *float64) parser {
	return parser{fn: func(v string) (err error) { *p, err = strconv.ParseFloat(v, 64); return err }}
}

func boolean(p *bool) parser {
	return parser{fn: func(v string) (err error) { *p, err = strconv.ParseBool(v); return err }, isBool: true}
}

func duration(p *time.Duration) parser {
	return parser{fn: func(v string) (err error) { *p, err = time.ParseDuration(v); return err }}
}
