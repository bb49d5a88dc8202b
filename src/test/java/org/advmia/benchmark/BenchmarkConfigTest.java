package org.advmia.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.advmia.attack.AutoAttack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchmarkConfigTest {
    private static final String MINIMAL = """
            datasets: [{spec: "synthetic:lesions?size=28&n=200"}]
            models: [smallcnn]
            defenses: [nat, {name: pgd-at, eps: 4/255}]
            eps: [2/255, 0.03]
            attacks: [fgsm, {name: pgd, steps: 20}, {name: autoattack, apgd_steps: 10, square_queries: 50}]
            """;

    @Test
    void defaultConfigIsTheSurveyProtocol() {
        BenchmarkConfig c = BenchmarkConfig.defaultConfig();
        assertEquals(List.of("nat", "pgd-at", "trades", "mart"), c.defenses().stream().map(BenchmarkConfig.DefenseEntry::name).toList());
        assertEquals(List.of(1 / 255.0, 2 / 255.0, 4 / 255.0, 8 / 255.0), c.eps());
        assertEquals(List.of("fgsm", "pgd", "cw", "autoattack", "square"), c.attacks().stream().map(AttackSpec::name).toList());
        assertEquals(List.of("FGSM", "PGD-20", "CW-30", "AutoAttack", "Square-200"),
                c.attacks().stream().map(AttackSpec::label).toList());
        assertTrue(c.datasets().get(0).spec().startsWith("synthetic:"), "the default needs no download");
    }

    @Test
    void yamlAndJsonGiveTheSameConfig() {
        BenchmarkConfig y = BenchmarkConfig.parse(MINIMAL, "m.yaml", true);
        String json = """
                {"datasets": [{"spec": "synthetic:lesions?size=28&n=200"}], "models": ["smallcnn"],
                 "defenses": ["nat", {"name": "pgd-at", "eps": "4/255"}], "eps": ["2/255", 0.03],
                 "attacks": ["fgsm", {"name": "pgd", "steps": 20}, {"name": "autoattack", "apgd_steps": 10, "square_queries": 50}]}
                """;
        BenchmarkConfig j = BenchmarkConfig.parse(json, "m.json", false);
        assertEquals(y.toJson(), j.toJson());
        assertEquals(4 / 255.0, y.defenses().get(1).trainEps(), 0);
        assertEquals(0.03, y.eps().get(1), 0);
        AutoAttack.Budget b = y.attacks().get(2).autoAttackBudget();
        assertEquals(10, b.apgdSteps());
        assertEquals(50, b.squareQueries());
        assertEquals(AutoAttack.Budget.standard().fabSteps(), b.fabSteps(), "unset budget parts keep the standard value");
    }

    @Test
    void preprocessingEntriesAreCheckedByName() {
        BenchmarkConfig c = BenchmarkConfig.parse(MINIMAL + "preprocessing: [jpeg:75, {spec: \"median:3,bit-depth:4\", wraps: pgd-at}]\n",
                "p.yaml", true);
        assertEquals(List.of("nat+jpeg:75", "pgd-at+median:3,bit-depth:4"),
                c.preprocessing().stream().map(BenchmarkConfig.PreprocessingEntry::label).toList());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL + "preprocessing: [blur:3]\n", "p.yaml", true));
        assertTrue(e.getMessage().contains("p.yaml") && e.getMessage().contains("preprocessing[0]")
                && e.getMessage().contains("Valid: jpeg"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL + "preprocessing: [{spec: jpeg:75, wraps: trades}]\n", "p.yaml", true));
        assertTrue(e.getMessage().contains("'trades' is not in defenses"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL + "preprocessing: [median:4]\n", "p.yaml", true));
        assertTrue(e.getMessage().contains("odd"), e.getMessage());
    }

    @Test
    void budgetsChangeTheIdentity() {
        BenchmarkConfig a = BenchmarkConfig.parse(MINIMAL, "a.yaml", true);
        BenchmarkConfig b = BenchmarkConfig.parse(MINIMAL.replace("steps: 20", "steps: 21"), "b.yaml", true);
        assertNotEquals(a.attacks().get(1).identity(), b.attacks().get(1).identity());
        assertEquals(a.attacks().get(0).identity(), b.attacks().get(0).identity());
    }

    @Test
    void errorsNameTheFileThePathAndTheValidNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("fgsm,", "no-such-attack,"), "bad.yaml", true));
        assertTrue(e.getMessage().startsWith("bad.yaml: attacks[0].name"), e.getMessage());
        assertTrue(e.getMessage().contains("pgd"), "lists the valid attacks: " + e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("defenses: [nat,", "defenses: [natt,"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("defenses[0].name") && e.getMessage().contains("trades"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("[smallcnn]", "[smallcnnn]"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("models") && e.getMessage().contains("resnet18"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("steps: 20", "stepz: 20"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("attacks[1].stepz: unknown key") && e.getMessage().contains("steps"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("synthetic:", "nosuch:"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("datasets[0].spec") && e.getMessage().contains("medmnist"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("0.03", "eight"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("eps[1]"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.parse(MINIMAL.replace("steps: 20", "queries: 20"), "bad.yaml", true));
        assertTrue(e.getMessage().contains("not score-based"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkConfig.parse("models: [smallcnn\n", "broken.yaml", true));
        assertTrue(e.getMessage().startsWith("broken.yaml: invalid YAML"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkConfig.parse("{\"models\": }", "broken.json", false));
        assertTrue(e.getMessage().startsWith("broken.json"), e.getMessage());
    }

    @Test
    void missingFileIsAClearError(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchmarkConfig.load(dir.resolve("nope.yaml")));
        assertTrue(e.getMessage().contains("nope.yaml") && e.getMessage().contains("no such file"), e.getMessage());
    }

    /** Every shipped example must parse: a broken example is a broken promise to users. */
    @Test
    void shippedExamplesParse() throws IOException {
        Path dir = Path.of("benchmarks/configs");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".json")).sorted().toList();
        }
        assertTrue(files.size() >= 5, "expected the MedMNIST, CSV and Fashion-MNIST examples, found " + files);
        for (Path f : files) {
            BenchmarkConfig c = BenchmarkConfig.load(f);
            assertTrue(!c.datasets().isEmpty() && !c.attacks().isEmpty(), f.toString());
        }
    }
}
