package clarifai

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
)

// TestProtoAgreesWithWireFacts: every field and enum value proto/
// declares has Clarifai's name, number and type, as the wire facts list
// them (testdata/clarifai-wire-facts.tsv).
func TestProtoAgreesWithWireFacts(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "clarifai-wire-facts.tsv"))
	require.NoError(t, err)
	defer f.Close()
	// facts maps "field <message> <number>" to "<name> <type>" and
	// "enum <enum> <name>" to "<number>".
	facts := map[string]string{}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		switch {
		case c[0] == "field" && len(c) == 5:
			facts[strings.Join(c[:3], " ")] = c[3] + " " + c[4]
		case c[0] == "enum" && len(c) == 4:
			facts["enum "+c[1]+" "+c[3]] = c[2]
		default:
			t.Fatalf("bad line in the facts: %q", line)
		}
	}
	require.NoError(t, lines.Err())

	checked := 0
	var walk func(protoreflect.MessageDescriptors, protoreflect.EnumDescriptors)
	walk = func(msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors) {
		for i := range enums.Len() {
			e := enums.Get(i)
			for j := range e.Values().Len() {
				v := e.Values().Get(j)
				want, ok := facts["enum "+string(e.FullName())+" "+string(v.Name())]
				require.True(t, ok, "%s.%s is not in the facts", e.FullName(), v.Name())
				require.Equal(t, want, strconv.Itoa(int(v.Number())), "%s.%s", e.FullName(), v.Name())
				checked++
			}
		}
		for i := range msgs.Len() {
			m := msgs.Get(i)
			if m.IsMapEntry() {
				continue
			}
			for j := range m.Fields().Len() {
				fd := m.Fields().Get(j)
				key := "field " + string(m.FullName()) + " " + strconv.Itoa(int(fd.Number()))
				want, ok := facts[key]
				require.True(t, ok, "%s.%s (%d) is not in the facts", m.FullName(), fd.Name(), fd.Number())
				require.Equal(t, want, string(fd.Name())+" "+typeName(fd), "%s", key)
				checked++
			}
			walk(m.Messages(), m.Enums())
		}
	}
	for _, file := range []protoreflect.FileDescriptor{
		pb.File_clarifai_api_resources_proto, pb.File_clarifai_api_service_proto,
		sc.File_clarifai_api_status_status_proto, sc.File_clarifai_api_status_status_code_proto,
	} {
		walk(file.Messages(), file.Enums())
	}
	require.Greater(t, checked, 200)
}

// typeName writes a field's type as the facts do: "string",
// "repeated clarifai.api.Point", "map<string, clarifai.api.ImageInfo>".
func typeName(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return "map<" + typeName(fd.MapKey()) + ", " + typeName(fd.MapValue()) + ">"
	}
	name := fd.Kind().String()
	switch fd.Kind() {
	case protoreflect.MessageKind:
		name = string(fd.Message().FullName())
	case protoreflect.EnumKind:
		name = string(fd.Enum().FullName())
	}
	if fd.IsList() {
		return "repeated " + name
	}
	return name
}
