import CYaml

/// A pass over a YAML text's parse events, without building anything.
enum YAMLEvents {
    /// Whether `text` uses an alias anywhere. A text that does not parse says false: the
    /// composer then reports the error in its own words.
    static func containsAlias(_ text: String) -> Bool {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return false }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                if event.type == YAML_ALIAS_EVENT { return true }
                if event.type == YAML_STREAM_END_EVENT { return false }
            }
            return false
        }
    }
}
