package org.advmia.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.advmia.attack.Attacks;
import org.advmia.attack.KnowledgeSetting;
import org.advmia.defense.Defenses;
import org.advmia.defense.detect.Detectors;
import org.junit.jupiter.api.Test;

/**
 * docs/TAXONOMY.md may only name what exists: every attack, defense, setting and transform in its
 * tables is registered (or is a class), every test it cites exists, and every registered attack,
 * defense and setting appears in it.
 */
class TaxonomyTest {
    record Row(String family, String name, String kind, String test, int line) {}

    static List<Row> rows() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("docs/TAXONOMY.md"));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (!l.startsWith("|") || l.startsWith("|---")) continue;
            String[] c = l.substring(1, l.length() - 1).split("\\|", -1);
            if (c.length != 6) fail("docs/TAXONOMY.md line " + (i + 1) + ": expected 6 columns, got " + c.length + ": " + l);
            if (c[2].strip().equals("kind")) continue;   // a header row
            rows.add(new Row(c[0].strip(), c[1].strip().replace("`", ""), c[2].strip(), c[5].strip(), i + 1));
        }
        return rows;
    }

    static boolean testClassExists(String name) throws IOException {
        try (Stream<Path> files = Files.walk(Path.of("src/test/java"))) {
            return files.anyMatch(p -> p.getFileName().toString().equals(name + ".java"));
        }
    }

    @Test
    void everyNameIsRegisteredAndEveryTestExists() throws Exception {
        List<Row> rows = rows();
        assertTrue(rows.size() > 40, "only " + rows.size() + " rows parsed");
        Set<String> settings = new LinkedHashSet<>();
        for (KnowledgeSetting k : KnowledgeSetting.values()) settings.add(k.key());
        for (Row r : rows) {
            String where = "docs/TAXONOMY.md line " + r.line() + " (" + r.name() + ")";
            switch (r.kind()) {
                case "attack" -> Attacks.requireKnown(r.name());
                case "defense" -> assertTrue(Defenses.NAMES.contains(r.name()), where + ": not in Defenses.NAMES");
                case "setting" -> assertTrue(settings.contains(r.name()), where + ": not a KnowledgeSetting");
                case "transform" -> Class.forName("org.advmia.defense.preprocess." + r.name());
                case "detector" -> assertTrue(Detectors.NAMES.contains(r.name()) || Detectors.isAdaptiveAttack(r.name()),
                        where + ": not a detector nor the adaptive attack on detectors");
                case "—" -> assertTrue(r.name().equals("not covered") || r.name().equals("(setting)"), where);
                default -> fail(where + ": unknown kind '" + r.kind() + "'");
            }
            if (r.test().endsWith("Test")) {
                assertTrue(testClassExists(r.test()), where + ": no test class " + r.test());
            } else {
                assertTrue(r.kind().equals("—"), where + ": a real entry must cite its test");
            }
        }
    }

    @Test
    void everyRegisteredNameIsListed() throws Exception {
        Set<String> listed = new LinkedHashSet<>();
        for (Row r : rows()) listed.add(r.name());
        for (String a : Attacks.names()) assertTrue(listed.contains(a), "attack " + a + " is missing from docs/TAXONOMY.md");
        for (String d : Defenses.NAMES) assertTrue(listed.contains(d), "defense " + d + " is missing from docs/TAXONOMY.md");
        for (String d : Detectors.NAMES) assertTrue(listed.contains(d), "detector " + d + " is missing from docs/TAXONOMY.md");
        for (KnowledgeSetting k : KnowledgeSetting.values()) {
            assertTrue(listed.contains(k.key()), "setting " + k.key() + " is missing from docs/TAXONOMY.md");
        }
        assertEquals(4, KnowledgeSetting.values().length);
    }
}
