package org.advmia.benchmark;

import static org.advmia.benchmark.ResultsStoreWriterMain.sampleCell;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The results database's promises: what putCell stored comes back bit for bit, also after the
 * writer was killed; concurrent writers (threads and processes) neither corrupt the file nor fail;
 * the first writer of a key wins; bad files and bad keys fail with messages that name them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResultsStoreTest {
    @TempDir
    Path dir;

    @Test
    void recordsSurviveAnAbandonedConnectionBitForBit() throws Exception {
        Path db = dir.resolve("nested/folders/results.db");
        ResultsStore first = ResultsStore.open(db);
        String run = first.beginRun("bits", "{\"seed\":1}");
        List<CellResult> written = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            CellResult c = sampleCell("w", i);
            first.putCell("k" + i, run, c);
            written.add(c);
        }
        TrainingResult t = new TrainingResult("ds0", "smallcnn", "pgd-at", 8 / 255.0, 3, 12.345678901234567, "accuracy",
                Double.NaN, "a".repeat(64), "/models/x.safetensors", false);
        first.putModel(t.hash(), t);
        TransferResult x = new TransferResult("ds0", "pgd", 4 / 255.0, "ds0/smallcnn/nat", "ds0/resnet18/nat", 50,
                0.1 + 0.2, Double.NaN, 1e-7);
        first.putTransfer("x1", run, x);

        // No close(): the first instance is left as a killed process would leave it (the test that
        // really kills a writer is killedWriterLosesNothingItReportedAndAResumeReusesIt).
        try (ResultsStore second = ResultsStore.open(db)) {
            for (int i = 0; i < written.size(); i++) {
                CellResult back = second.cell("k" + i).orElseThrow();
                assertEquals(written.get(i), back, "cell k" + i);
                assertSameBits(written.get(i), back);
            }
            assertEquals(written, second.cells(run));
            CellResult nanCell = second.cell("k0").orElseThrow();
            assertTrue(nanCell.metrics().containsKey("dice_adversarial") && Double.isNaN(nanCell.metric("dice_adversarial")),
                    "a NaN metric is stored as JSON null and comes back as NaN, not as a missing key");
            assertEquals(written.get(0).warnings(), nanCell.warnings(), "escaped, non-ASCII and astral warning text");

            TrainingResult tb = second.model(t.hash()).orElseThrow();
            assertEquals(t, tb);
            assertTrue(Double.isNaN(tb.valValue()));
            assertEquals(x, second.transfer("x1").orElseThrow());
            assertEquals(List.of(x), second.transfers(run));
            assertTrue(second.cell("k40").isEmpty() && second.model("b".repeat(64)).isEmpty()
                    && second.transfer("x2").isEmpty(), "absent keys are empty, not errors");
        }
        first.close();
        first.close();
        assertThrows(IllegalStateException.class, () -> first.cell("k0"), "a closed store refuses work");
    }

    private static void assertSameBits(CellResult a, CellResult b) {
        assertEquals(Double.doubleToRawLongBits(a.eps()), Double.doubleToRawLongBits(b.eps()));
        assertEquals(Double.doubleToRawLongBits(a.seconds()), Double.doubleToRawLongBits(b.seconds()));
        for (Map.Entry<String, Double> e : a.metrics().entrySet()) {
            double back = b.metrics().get(e.getKey());
            // Json writes NaN as null, so a NaN comes back as the canonical NaN, whatever its payload was.
            if (Double.isNaN(e.getValue())) assertTrue(Double.isNaN(back), e.getKey());
            else assertEquals(Double.doubleToRawLongBits(e.getValue()), Double.doubleToRawLongBits(back), e.getKey());
        }
    }

    @Test
    void firstWriterWinsAndEachRunListsWhatItComputedOrReused() throws Exception {
        try (ResultsStore s = ResultsStore.open(dir.resolve("results.db"))) {
            String r1 = s.beginRun("one", "{}"), r2 = s.beginRun("two", "{}");
            assertNotEquals(r1, r2);
            CellResult a1 = sampleCell("one", 1), b1 = sampleCell("one", 2), a2 = sampleCell("two", 1), c2 = sampleCell("two", 3);
            s.putCell("a", r1, a1);
            s.putCell("b", r1, b1);

            s.markUsed(r2, "b");
            s.putCell("c", r2, c2);
            s.putCell("a", r2, a2); // as if run two had also computed a: it must keep run one's value, not throw
            s.markUsed(r2, "b");
            s.markUsed(r2, "c");
            assertEquals(a1, s.cell("a").orElseThrow());
            assertEquals(List.of(b1, c2, a1), s.cells(r2), "run two, in order, without duplicates");
            assertEquals(List.of(a1, b1), s.cells(r1));
            assertEquals(List.of(), s.cells("no-such-run"));

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.markUsed(r2, "zzz"));
            assertTrue(e.getMessage().contains("zzz"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.putCell("d", "made-up-run", c2));
            assertTrue(e.getMessage().contains("made-up-run"), e.getMessage());
            assertTrue(s.cell("d").isEmpty(), "a rejected put stores nothing");

            TrainingResult m1 = new TrainingResult("ds", "m", "nat", 0, 1, 2, "acc", 0.5, "h", "w1", false);
            s.putModel("h", m1);
            s.putModel("h", new TrainingResult("ds", "m", "nat", 0, 1, 2, "acc", 0.75, "h", "w2", false));
            assertEquals(m1, s.model("h").orElseThrow());

            TransferResult t1 = new TransferResult("ds", "pgd", 0.1, "s", "t", 5, 0.5, 0.25, 1);
            TransferResult t2 = new TransferResult("ds", "pgd", 0.1, "s", "u", 5, 0.5, 0.125, 1);
            s.putTransfer("t1", r1, t1);
            s.putTransfer("t2", r2, t2);
            s.markTransferUsed(r2, "t1");
            s.putTransfer("t1", r2, t2);
            assertEquals(t1, s.transfer("t1").orElseThrow());
            assertEquals(List.of(t2, t1), s.transfers(r2));
            assertEquals(List.of(t1), s.transfers(r1));
            assertThrows(IllegalArgumentException.class, () -> s.markTransferUsed(r1, "t9"));
        }
    }

    @Test
    void columnsAreQueryableWithPlainSql() throws Exception {
        Path db = dir.resolve("results.db");
        String run, unfinished;
        try (ResultsStore s = ResultsStore.open(db)) {
            assertEquals(db, s.file());
            run = s.beginRun("sql", "{\"datasets\":[\"ds0\"]}");
            unfinished = s.beginRun("killed", "{}");
            for (int i = 0; i < 15; i++) s.putCell("k" + i, run, sampleCell("w", i));
            s.finishRun(run, 12.5, 12.25);
            assertThrows(IllegalArgumentException.class, () -> s.finishRun("nope", 1, 1));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            assertEquals("wal", scalar(st, "PRAGMA journal_mode"));
            assertEquals("1", scalar(st, "PRAGMA user_version"));
            // i = 3 and 8 are the ds0 cells attacked with PGD at 3/255.
            List<Double> ra = new ArrayList<>();
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT robust_accuracy FROM cells WHERE dataset = 'ds0' AND attack = 'pgd' AND eps = ? ORDER BY key")) {
                p.setDouble(1, 3 / 255.0);
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) ra.add(r.getDouble(1));
                }
            }
            assertEquals(List.of(sampleCell("w", 3).robustAccuracy()), ra, "i = 3 only: 8 is in ds2");
            assertEquals("1", scalar(st, "SELECT count(*) FROM cells WHERE key = 'k0' AND attack = 'clean' AND eps = 0 "
                    + "AND robust_accuracy = clean_accuracy AND json LIKE '%\"dice_adversarial\":null%'"),
                    "the clean cell's headline number is its clean accuracy, and NaN is JSON null");
            assertEquals("15", scalar(st, "SELECT count(*) FROM run_cells WHERE run_id = '" + run + "'"));
            assertEquals("12.5 12.25 1", scalar(st, "SELECT wall_seconds || ' ' || engine_seconds || ' ' || "
                    + "(finished_at >= started_at) FROM runs WHERE run_id = '" + run + "'"));
            assertNull(scalar(st, "SELECT finished_at FROM runs WHERE run_id = '" + unfinished + "'"));
            assertEquals("ds0", scalar(st, "SELECT json_extract(config_json, '$.datasets[0]') FROM runs WHERE run_id = '" + run + "'"));
        }
    }

    @Test
    void badFilesAndKeysAreRejectedByName() throws Exception {
        Path text = dir.resolve("notes.txt");
        String content = "not a database, just some text that is long enough to fill a header".repeat(3);
        Files.writeString(text, content);
        IOException e = assertThrows(IOException.class, () -> ResultsStore.open(text));
        assertTrue(e.getMessage().contains(text.toString()) && e.getMessage().contains("not an SQLite database"), e.getMessage());
        assertEquals(content, Files.readString(text), "a rejected file is left as it was");

        IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> ResultsStore.open(dir));
        assertTrue(d.getMessage().contains(dir.toString()) && d.getMessage().contains("directory"), d.getMessage());

        Path other = dir.resolve("other.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + other); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE patients(id INTEGER)");
        }
        e = assertThrows(IOException.class, () -> ResultsStore.open(other));
        assertTrue(e.getMessage().contains(other.toString()) && e.getMessage().contains("patients"), e.getMessage());

        Path newer = dir.resolve("newer.db");
        ResultsStore.open(newer).close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + newer); Statement st = c.createStatement()) {
            st.execute("PRAGMA user_version = 2");
        }
        e = assertThrows(IOException.class, () -> ResultsStore.open(newer));
        assertTrue(e.getMessage().contains(newer.toString()) && e.getMessage().contains("newer"), e.getMessage());

        try (ResultsStore s = ResultsStore.open(dir.resolve("results.db"))) {
            String run = s.beginRun("keys", "{}");
            CellResult c = sampleCell("w", 1);
            rejects("cell key is null", () -> s.cell(null));
            rejects("cell key is empty", () -> s.cell(""));
            rejects("cell key is empty", () -> s.putCell(" ", run, c));
            rejects("run id is null", () -> s.putCell("k", null, c));
            rejects("result is null", () -> s.putCell("k", run, null));
            rejects("cell key is empty", () -> s.markUsed(run, ""));
            rejects("model hash is empty", () -> s.model(""));
            rejects("model hash is null", () -> s.putModel(null, null));
            rejects("transfer key is empty", () -> s.transfer(""));
            rejects("run name is empty", () -> s.beginRun("", "{}"));
            rejects("invalid JSON", () -> s.beginRun("x", "datasets: [a]"));
            assertTrue(s.cell("k").isEmpty(), "nothing was stored by the rejected calls");
        }
    }

    private static void rejects(String message, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }

    /**
     * Unpaced writers contending for the lock all the time: neither may fail (the loser waits in the
     * busy timeout) and the schema must be created once although both open a new file at once.
     */
    @Test
    void twoThreadsWithTheirOwnStoresWriteOneNewFile() throws Exception {
        Path db = dir.resolve("results.db");
        int own = 150, shared = 50;
        String[] writers = {"alpha", "beta"};
        String[] runs = new String[2];
        CountDownLatch start = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int id = w;
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    // Both open (and so create the schema of) the same new file at the same moment.
                    try (ResultsStore s = ResultsStore.open(db)) {
                        runs[id] = s.beginRun(writers[id], "{}");
                        for (int i = 0; i < own; i++) {
                            s.putCell(writers[id] + "-" + i, runs[id], sampleCell(writers[id], i));
                            if (i < shared) s.putCell("shared-" + i, runs[id], sampleCell(writers[id], i));
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            t.start();
            threads.add(t);
        }
        start.countDown();
        for (Thread t : threads) t.join();
        assertTrue(errors.isEmpty(), () -> "a writer failed: " + errors.peek());
        checkTwoWriters(db, writers, runs, own, shared);
    }

    @Test
    void aSecondProcessWritesTheSameFileConcurrently() throws Exception {
        Path db = dir.resolve("results.db");
        int own = 150, shared = 50;
        String[] writers = {"parent", "child"};
        String[] runs = new String[2];
        Path err = dir.resolve("child.err");
        // Both writers pause 1 ms after each cell, as a benchmark computing its next cell would. Unpaced,
        // they mostly take turns wholesale (the loser of the lock sleeps in SQLite's busy handler while
        // the winner commits again at once), and the test would not show the two runs' writes interleaved.
        Process child = startWriter(db, "child", own, shared, err, 1);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            runs[1] = readyRun(out, err);
            try (ResultsStore s = ResultsStore.open(db)) {
                runs[0] = s.beginRun("parent", "{}");
                go(child);
                for (int i = 0; i < own; i++) {
                    s.putCell("parent-" + i, runs[0], sampleCell("parent", i));
                    if (i < shared) s.putCell("shared-" + i, runs[0], sampleCell("parent", i));
                    Thread.sleep(1);
                }
            }
            String line, last = null;
            while ((line = out.readLine()) != null) last = line;
            assertEquals(0, child.waitFor(), () -> "child failed: " + read(err));
            assertEquals("done", last);
        } finally {
            child.destroyForcibly();
        }
        checkTwoWriters(db, writers, runs, own, shared);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            // Without overlap this test would prove nothing about concurrency: the two runs' inserts must
            // interleave in the file's own order (one switch would be one writer strictly after the other;
            // paced as above they typically switch about 250 times).
            List<String> order = new ArrayList<>();
            try (ResultSet r = st.executeQuery("SELECT run_id FROM run_cells ORDER BY seq")) {
                while (r.next()) order.add(r.getString(1));
            }
            int switches = 0;
            for (int i = 1; i < order.size(); i++) if (!order.get(i).equals(order.get(i - 1))) switches++;
            System.out.println("ResultsStoreTest: parent/child writes alternated " + switches + " times");
            assertTrue(switches >= 10, "the two processes' writes hardly overlapped: " + switches + " switches");
        }
    }

    /** Both writers' cells are all there, each shared key holds exactly one writer's value, the file is sound. */
    private static void checkTwoWriters(Path db, String[] writers, String[] runs, int own, int shared) throws Exception {
        try (ResultsStore s = ResultsStore.open(db)) {
            List<CellResult> kept = new ArrayList<>();
            for (int i = 0; i < shared; i++) {
                CellResult k = s.cell("shared-" + i).orElseThrow();
                assertTrue(k.equals(sampleCell(writers[0], i)) || k.equals(sampleCell(writers[1], i)), "shared-" + i);
                kept.add(k);
            }
            for (int w = 0; w < 2; w++) {
                // In the order the writer put them, with the kept value wherever it lost the race for a shared key.
                List<CellResult> expected = new ArrayList<>();
                for (int i = 0; i < own; i++) {
                    expected.add(sampleCell(writers[w], i));
                    if (i < shared) expected.add(kept.get(i));
                }
                assertEquals(expected, s.cells(runs[w]), writers[w] + "'s run");
                for (int i = 0; i < own; i++) {
                    assertEquals(sampleCell(writers[w], i), s.cell(writers[w] + "-" + i).orElseThrow(), writers[w] + "-" + i);
                }
            }
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            assertEquals("ok", scalar(st, "PRAGMA integrity_check"));
            assertEquals(String.valueOf(2 * own + shared), scalar(st, "SELECT count(*) FROM cells"));
            // The row's run_id and its JSON come from the same insert: a shared key's writer is its budget.
            assertEquals("0", scalar(st, "SELECT count(*) FROM cells c JOIN runs r ON r.run_id = c.run_id "
                    + "WHERE json_extract(c.json, '$.budget') <> 'PGD-20 by ' || r.name"));
        }
    }

    @Test
    void killedWriterLosesNothingItReportedAndAResumeReusesIt() throws Exception {
        Path db = dir.resolve("results.db");
        Path err = dir.resolve("child.err");
        Process child = startWriter(db, "victim", 1_000_000, 0, err, 0);
        String killedRun;
        Set<Integer> reported = new HashSet<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            killedRun = readyRun(out, err);
            go(child);
            while (reported.size() < 40) {
                String line = out.readLine();
                if (line == null || !line.startsWith("put ")) throw new AssertionError("child said '" + line + "': " + read(err));
                reported.add(Integer.parseInt(line.substring(4)));
            }
        } finally {
            // SIGKILL: no close, no shutdown hooks, possibly in the middle of a transaction.
            child.destroyForcibly();
        }
        assertTrue(child.waitFor(20, TimeUnit.SECONDS));

        int cellsAfterResume;
        try (ResultsStore s = ResultsStore.open(db)) {
            int stored = 0;
            while (s.cell("victim-" + stored).isPresent()) stored++;
            for (int i : reported) assertTrue(i < stored, "reported cell victim-" + i + " is stored");
            // The child may have committed a few cells past the last line read; the resume must reuse those too.
            int total = stored + 30;
            String resume = s.beginRun("victim", "{}");
            int computed = 0;
            List<CellResult> expected = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                String key = "victim-" + i;
                CellResult want = sampleCell("victim", i);
                if (s.cell(key).isPresent()) {
                    assertEquals(want, s.cell(key).orElseThrow(), key + " as the killed run stored it");
                    s.markUsed(resume, key);
                } else {
                    s.putCell(key, resume, want);
                    computed++;
                }
                expected.add(want);
            }
            assertEquals(total - stored, computed, "the resume computed only what was missing");
            assertEquals(expected, s.cells(resume));
            assertEquals(expected.subList(0, stored), s.cells(killedRun), "the killed run's own list is intact too");
            cellsAfterResume = total;
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            assertEquals("ok", scalar(st, "PRAGMA integrity_check"));
            assertNull(scalar(st, "SELECT finished_at FROM runs WHERE run_id = '" + killedRun + "'"),
                    "a killed run stays unfinished");
            assertEquals(String.valueOf(cellsAfterResume), scalar(st, "SELECT count(*) FROM cells"), "no cell beyond the resumed range");
        }
    }

    private static Process startWriter(Path db, String writer, int count, int shared, Path err, int pauseMs)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Not inheritIO: surefire reads this JVM's stdout, and stray output there corrupts its channel.
        // sqlite-jdbc extracts its native library to a temp file that only a normal exit removes; a killed
        // child would leave it in /tmp, so it goes into the test's folder instead.
        return new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-Dorg.sqlite.tmpdir=" + err.getParent(),
                "-cp", System.getProperty("java.class.path"),
                ResultsStoreWriterMain.class.getName(), db.toString(), writer, String.valueOf(count), String.valueOf(shared),
                String.valueOf(pauseMs))
                .redirectError(err.toFile())
                .start();
    }

    private static String readyRun(BufferedReader out, Path err) throws IOException {
        String line = out.readLine();
        assertTrue(line != null && line.startsWith("ready "), "child did not start: " + line + "\n" + read(err));
        return line.substring(6);
    }

    private static void go(Process child) throws IOException {
        Writer in = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
        in.write("go\n");
        in.flush();
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "(no stderr: " + e.getMessage() + ")";
        }
    }

    private static String scalar(Statement st, String sql) throws SQLException {
        try (ResultSet r = st.executeQuery(sql)) {
            assertTrue(r.next(), sql);
            String v = r.getString(1);
            assertFalse(r.next(), "one row: " + sql);
            return v;
        }
    }
}
