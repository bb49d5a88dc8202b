package org.advmia.benchmark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.advmia.util.Json;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The benchmark's results database: one embedded SQLite file (usually {@code results.db}) reached
 * over JDBC. It is the benchmark's memory between runs: a finished cell is committed before
 * {@link #putCell} returns, so a killed benchmark loses nothing it reported as done, and a rerun
 * asks {@link #cell} before computing anything. Trained models are found again by the SHA-256 of
 * their full training configuration ({@link #model}).
 *
 * <h2>Concurrency</h2>
 * Any number of processes and threads may open the same file, each with its own instance. The
 * file is in WAL journal mode (readers never block the writer), every write is one
 * {@code BEGIN IMMEDIATE} transaction (the write lock is taken up front, so a write never fails
 * half way with a stale snapshot), and a connection waits up to {@value #BUSY_TIMEOUT_MS} ms for
 * the lock before giving up. Records are immutable once written: inserts are
 * {@code INSERT OR IGNORE}, so when two runs finish the same cell the first writer wins and the
 * second silently reuses the stored value. One instance serialises its own callers (its methods
 * are synchronized), so threads may also share one instance.
 *
 * <h2>Schema (version {@value #SCHEMA_VERSION}, in {@code PRAGMA user_version})</h2>
 * Every record is stored whole as JSON ({@code json}: exactly {@code Json.write(record.toMap())},
 * the source of truth that the getters parse) plus copies of its main fields in plain columns for
 * SQL. Non-finite numbers are NULL in both. Times are ISO-8601 UTC text.
 * <pre>
 * runs(run_id TEXT PRIMARY KEY, name TEXT, started_at TEXT, finished_at TEXT NULL until finishRun
 *      (NULL forever for a killed run), wall_seconds REAL, engine_seconds REAL, config_json TEXT)
 * cells(key TEXT PRIMARY KEY, run_id TEXT (the run that computed it), dataset TEXT, task TEXT,
 *       model TEXT, defense TEXT, attack TEXT ('clean' for the clean evaluation), budget TEXT,
 *       eps REAL, samples INTEGER, seconds REAL, clean_accuracy REAL, robust_accuracy REAL
 *       (CellResult.robustAccuracy(): the clean accuracy for the clean cell), created_at TEXT, json TEXT)
 *       index cells_config(dataset, model, defense, attack, eps)
 * models(hash TEXT PRIMARY KEY, dataset TEXT, model TEXT, defense TEXT, train_eps REAL, epochs INTEGER,
 *        seconds REAL, val_metric TEXT, val_value REAL, weights TEXT, created_at TEXT, json TEXT)
 *        index models_config(dataset, model, defense)
 * transfers(key TEXT PRIMARY KEY, run_id TEXT, dataset TEXT, attack TEXT, eps REAL, source TEXT,
 *           target TEXT, samples INTEGER, target_clean_accuracy REAL, target_robust_accuracy REAL,
 *           seconds REAL, created_at TEXT, json TEXT)
 *           index transfers_config(dataset, attack, eps, source, target)
 * run_cells(seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, cell_key TEXT, UNIQUE(run_id, cell_key))
 * run_transfers(seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, transfer_key TEXT, UNIQUE(run_id, transfer_key))
 * detections(key TEXT PRIMARY KEY, run_id TEXT, dataset TEXT, model TEXT, defense TEXT, detector TEXT,
 *            attack TEXT, eps REAL, clean INTEGER, successful INTEGER, auroc REAL, tpr_at_5_fpr REAL,
 *            adaptive_successful INTEGER, adaptive_auroc REAL, adaptive_tpr_at_5_fpr REAL, seconds REAL,
 *            created_at TEXT, json TEXT) (the metric columns are over successful adversarial examples;
 *            json holds both counts and both variants)
 *            index detections_config(dataset, model, defense, detector, attack, eps)
 * run_detections(seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, detection_key TEXT, UNIQUE(run_id, detection_key))
 * </pre>
 * {@code run_cells} lists, in order, every cell a run's report includes, whether the run computed
 * it or reused it from an earlier run. For example, with the {@code sqlite3} shell:
 * <pre>
 * SELECT c.dataset, c.model, c.defense, c.attack, round(c.eps*255) AS eps255, c.robust_accuracy
 *   FROM run_cells rc JOIN cells c ON c.key = rc.cell_key
 *  WHERE rc.run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1) ORDER BY rc.seq;
 * </pre>
 * Reading the file while a benchmark runs is safe; the {@code results.db-wal} and
 * {@code results.db-shm} files beside it belong to the database and must be copied with it.
 *
 * <h2>Errors</h2>
 * Null or empty keys, run ids unknown to this file and configurations that are not JSON throw
 * IllegalArgumentException; a database failure (disk full, lock not obtained within the busy
 * timeout) throws UncheckedIOException; both name the file. Using a closed store throws
 * IllegalStateException.
 */
public final class ResultsStore implements AutoCloseable {
    static final int SCHEMA_VERSION = 1;
    static final int BUSY_TIMEOUT_MS = 30_000;

    private static final Set<String> OWN_TABLES =
            Set.of("runs", "cells", "models", "transfers", "run_cells", "run_transfers", "sqlite_sequence",
                    "detections", "run_detections");

    /**
     * Detection cells (added after schema version 1 was fixed; created when missing, so databases
     * written before them gain the tables on open and older readers simply do not see them).
     */
    private static final String[] DETECTION_SCHEMA = {
        """
        CREATE TABLE IF NOT EXISTS detections (
            key TEXT PRIMARY KEY NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            dataset TEXT NOT NULL,
            model TEXT NOT NULL,
            defense TEXT NOT NULL,
            detector TEXT NOT NULL,
            attack TEXT NOT NULL,
            eps REAL,
            clean INTEGER NOT NULL,
            successful INTEGER NOT NULL,
            auroc REAL,
            tpr_at_5_fpr REAL,
            adaptive_successful INTEGER NOT NULL,
            adaptive_auroc REAL,
            adaptive_tpr_at_5_fpr REAL,
            seconds REAL,
            created_at TEXT NOT NULL,
            json TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS detections_config ON detections(dataset, model, defense, detector, attack, eps)",
        """
        CREATE TABLE IF NOT EXISTS run_detections (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            detection_key TEXT NOT NULL REFERENCES detections(key),
            UNIQUE (run_id, detection_key))""",
    };

    private static final String[] SCHEMA = {
        """
        CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            wall_seconds REAL,
            engine_seconds REAL,
            config_json TEXT NOT NULL)""",
        """
        CREATE TABLE IF NOT EXISTS cells (
            key TEXT PRIMARY KEY NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            dataset TEXT NOT NULL,
            task TEXT NOT NULL,
            model TEXT NOT NULL,
            defense TEXT NOT NULL,
            attack TEXT NOT NULL,
            budget TEXT NOT NULL,
            eps REAL,
            samples INTEGER NOT NULL,
            seconds REAL,
            clean_accuracy REAL,
            robust_accuracy REAL,
            created_at TEXT NOT NULL,
            json TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS cells_config ON cells(dataset, model, defense, attack, eps)",
        """
        CREATE TABLE IF NOT EXISTS models (
            hash TEXT PRIMARY KEY NOT NULL,
            dataset TEXT NOT NULL,
            model TEXT NOT NULL,
            defense TEXT NOT NULL,
            train_eps REAL,
            epochs INTEGER NOT NULL,
            seconds REAL,
            val_metric TEXT NOT NULL,
            val_value REAL,
            weights TEXT NOT NULL,
            created_at TEXT NOT NULL,
            json TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS models_config ON models(dataset, model, defense)",
        """
        CREATE TABLE IF NOT EXISTS transfers (
            key TEXT PRIMARY KEY NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            dataset TEXT NOT NULL,
            attack TEXT NOT NULL,
            eps REAL,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            samples INTEGER NOT NULL,
            target_clean_accuracy REAL,
            target_robust_accuracy REAL,
            seconds REAL,
            created_at TEXT NOT NULL,
            json TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS transfers_config ON transfers(dataset, attack, eps, source, target)",
        """
        CREATE TABLE IF NOT EXISTS run_cells (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            cell_key TEXT NOT NULL REFERENCES cells(key),
            UNIQUE (run_id, cell_key))""",
        """
        CREATE TABLE IF NOT EXISTS run_transfers (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            transfer_key TEXT NOT NULL REFERENCES transfers(key),
            UNIQUE (run_id, transfer_key))""",
    };

    private static final DateTimeFormatter RUN_ID_TIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path file;
    private Connection db;

    private ResultsStore(Path file, Connection db) {
        this.file = file;
        this.db = db;
    }

    /**
     * Opens the database at dbFile, creating it (and its parent folders) with the schema when it
     * does not exist. Fails, naming the file, when it is not an SQLite database, belongs to another
     * application, or was written by a newer schema.
     */
    public static ResultsStore open(Path dbFile) throws IOException {
        if (dbFile == null) throw new IllegalArgumentException("results database path is null");
        Path path = dbFile.toAbsolutePath().normalize();
        if (Files.isDirectory(path)) {
            throw new IllegalArgumentException(path + ": is a directory, not a results database file");
        }
        Path parent = path.getParent();
        if (parent != null) Files.createDirectories(parent);

        SQLiteConfig config = new SQLiteConfig();
        // Set at connection open, so that even the first statements below wait for other processes.
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        Connection c = null;
        try {
            c = config.createConnection("jdbc:sqlite:" + path);
            init(c, path);
            return new ResultsStore(path, c);
        } catch (IOException | RuntimeException e) {
            closeQuietly(c, e);
            throw e;
        } catch (SQLException e) {
            closeQuietly(c, e);
            if (isNotADatabase(e)) {
                throw new IOException(path + ": not an SQLite database (" + e.getMessage()
                        + "); a results database is created only where no file exists", e);
            }
            throw new IOException(path + ": cannot open the results database: " + e.getMessage(), e);
        }
    }

    private static void init(Connection c, Path path) throws SQLException, IOException {
        try (Statement s = c.createStatement()) {
            // The first read of the header: a file that is not a database fails here. Everything that
            // could refuse the file comes before anything that writes to it.
            int version = (int) queryLong(s, "PRAGMA user_version");
            checkVersion(path, version);
            if (version == 0) checkNoForeignTables(s, path);
            String mode = queryString(s, "PRAGMA journal_mode=WAL");
            if (!"wal".equalsIgnoreCase(mode)) {
                throw new IOException(path + ": cannot switch the results database to WAL journal mode (got '"
                        + mode + "'); is it on a network file system?");
            }
            // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and putCell
            // promises durability when it returns. One fsync per cell is negligible next to an attack.
            s.execute("PRAGMA synchronous=FULL");
            s.execute("PRAGMA foreign_keys=ON");
            if (version == SCHEMA_VERSION) {
                if (queryLong(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'run_detections'") == 0) {
                    s.execute("BEGIN IMMEDIATE");
                    try {
                        for (String ddl : DETECTION_SCHEMA) s.execute(ddl);
                        s.execute("COMMIT");
                    } catch (SQLException | RuntimeException e) {
                        rollbackQuietly(s, e);
                        throw e;
                    }
                }
                return;
            }

            // Two processes may create the same new file at once: the check and the creation are one
            // write transaction, so the second one finds the finished schema and creates nothing.
            s.execute("BEGIN IMMEDIATE");
            try {
                version = (int) queryLong(s, "PRAGMA user_version");
                checkVersion(path, version);
                if (version == 0) {
                    checkNoForeignTables(s, path);
                    for (String ddl : SCHEMA) s.execute(ddl);
                    for (String ddl : DETECTION_SCHEMA) s.execute(ddl);
                    s.execute("PRAGMA user_version = " + SCHEMA_VERSION);
                }
                s.execute("COMMIT");
            } catch (SQLException | IOException | RuntimeException e) {
                rollbackQuietly(s, e);
                throw e;
            }
        }
    }

    /** Refuses to add the results tables to some other application's database. */
    private static void checkNoForeignTables(Statement s, Path path) throws SQLException, IOException {
        List<String> foreign = new ArrayList<>();
        try (ResultSet r = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
            while (r.next()) if (!OWN_TABLES.contains(r.getString(1))) foreign.add(r.getString(1));
        }
        if (!foreign.isEmpty()) {
            throw new IOException(path + ": an SQLite database that is not an advmia results database (it has tables "
                    + foreign + "); refusing to add tables to it");
        }
    }

    private static void checkVersion(Path path, int version) throws IOException {
        if (version > SCHEMA_VERSION) {
            throw new IOException(path + ": results database schema version " + version
                    + " is newer than this advmia understands (" + SCHEMA_VERSION + ")");
        }
        if (version < 0 || (version > 0 && version < SCHEMA_VERSION)) {
            throw new IOException(path + ": unknown results database schema version " + version);
        }
    }

    /** The database file (absolute). */
    public Path file() {
        return file;
    }

    // ---------------------------------------------------------------- runs

    /**
     * Records the start of a run and returns its new id ("20250601T120000Z-9f3a61c2": UTC start
     * time plus 32 random bits, unique in this file). configJson is the run's configuration as JSON.
     */
    public synchronized String beginRun(String name, String configJson) {
        requireText(name, "run name");
        if (configJson == null) throw new IllegalArgumentException("run configuration JSON is null");
        Json.parse(configJson, "configuration of run '" + name + "'");
        Instant now = Instant.now();
        byte[] random = new byte[4];
        for (int attempt = 0; ; attempt++) {
            RANDOM.nextBytes(random);
            String id = RUN_ID_TIME.format(now) + "-" + HexFormat.of().formatHex(random);
            int inserted = write("begin run " + id, () -> {
                try (PreparedStatement p = db.prepareStatement(
                        "INSERT OR IGNORE INTO runs(run_id, name, started_at, config_json) VALUES (?, ?, ?, ?)")) {
                    p.setString(1, id);
                    p.setString(2, name);
                    p.setString(3, now.toString());
                    p.setString(4, configJson);
                    return p.executeUpdate();
                }
            });
            if (inserted == 1) return id;
            if (attempt == 10) throw new IllegalStateException(file + ": could not find an unused run id");
        }
    }

    /** Records that the run finished, with its wall-clock and engine (training + attack) seconds. */
    public synchronized void finishRun(String runId, double wallSeconds, double engineSeconds) {
        requireText(runId, "run id");
        int updated = write("finish run " + runId, () -> {
            try (PreparedStatement p = db.prepareStatement(
                    "UPDATE runs SET finished_at = ?, wall_seconds = ?, engine_seconds = ? WHERE run_id = ?")) {
                p.setString(1, Instant.now().toString());
                setReal(p, 2, wallSeconds);
                setReal(p, 3, engineSeconds);
                p.setString(4, runId);
                return p.executeUpdate();
            }
        });
        if (updated == 0) throw unknownRun(runId);
    }

    // ---------------------------------------------------------------- cells

    /** The finished cell stored under key, by whichever run computed it. */
    public synchronized Optional<CellResult> cell(String key) {
        requireText(key, "cell key");
        return readOne("SELECT json FROM cells WHERE key = ?", key, "cell " + key, CellResult::fromMap);
    }

    /**
     * Stores a finished cell computed by run runId and appends it to that run's cells; committed to
     * disk when this returns. When key is already stored (another run finished it first), the
     * stored value is kept and this run's report includes that one.
     */
    public synchronized void putCell(String key, String runId, CellResult r) {
        requireText(key, "cell key");
        requireText(runId, "run id");
        if (r == null) throw new IllegalArgumentException("cell " + key + ": result is null");
        String json = Json.write(r.toMap());
        write("store cell " + key, () -> {
            requireRun(runId);
            try (PreparedStatement p = db.prepareStatement("""
                    INSERT OR IGNORE INTO cells(key, run_id, dataset, task, model, defense, attack, budget, eps,
                        samples, seconds, clean_accuracy, robust_accuracy, created_at, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                p.setString(1, key);
                p.setString(2, runId);
                p.setString(3, r.dataset());
                p.setString(4, r.task());
                p.setString(5, r.model());
                p.setString(6, r.defense());
                p.setString(7, r.attack());
                p.setString(8, r.budget());
                setReal(p, 9, r.eps());
                p.setInt(10, r.samples());
                setReal(p, 11, r.seconds());
                setReal(p, 12, r.metric("clean_accuracy"));
                setReal(p, 13, r.robustAccuracy());
                p.setString(14, Instant.now().toString());
                p.setString(15, json);
                p.executeUpdate();
            }
            link("run_cells", "cell_key", runId, key);
            return 0;
        });
    }

    /**
     * Records that run runId's report includes the stored cell key (reused rather than computed).
     * Marking a cell twice, or a cell the run computed itself, changes nothing.
     */
    public synchronized void markUsed(String runId, String key) {
        requireText(runId, "run id");
        requireText(key, "cell key");
        write("mark cell " + key + " used", () -> {
            requireRun(runId);
            if (!exists("SELECT 1 FROM cells WHERE key = ?", key)) {
                throw new IllegalArgumentException(file + ": no stored cell with key '" + key + "'");
            }
            link("run_cells", "cell_key", runId, key);
            return 0;
        });
    }

    /** The cells run runId computed or reused, in the order it stored or marked them. */
    public synchronized List<CellResult> cells(String runId) {
        requireText(runId, "run id");
        return readList("SELECT c.key, c.json FROM run_cells rc JOIN cells c ON c.key = rc.cell_key "
                + "WHERE rc.run_id = ? ORDER BY rc.seq", runId, "cell ", CellResult::fromMap);
    }

    // ---------------------------------------------------------------- models

    /** The trained model whose full training configuration hashes to hash. */
    public synchronized Optional<TrainingResult> model(String hash) {
        requireText(hash, "model hash");
        return readOne("SELECT json FROM models WHERE hash = ?", hash, "model " + hash, TrainingResult::fromMap);
    }

    /** Stores a trained model under its configuration hash; the first model stored under a hash is kept. */
    public synchronized void putModel(String hash, TrainingResult t) {
        requireText(hash, "model hash");
        if (t == null) throw new IllegalArgumentException("model " + hash + ": training result is null");
        String json = Json.write(t.toMap());
        write("store model " + hash, () -> {
            try (PreparedStatement p = db.prepareStatement("""
                    INSERT OR IGNORE INTO models(hash, dataset, model, defense, train_eps, epochs, seconds,
                        val_metric, val_value, weights, created_at, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                p.setString(1, hash);
                p.setString(2, t.dataset());
                p.setString(3, t.model());
                p.setString(4, t.defense());
                setReal(p, 5, t.trainEps());
                p.setInt(6, t.epochs());
                setReal(p, 7, t.seconds());
                p.setString(8, t.valMetric());
                setReal(p, 9, t.valValue());
                p.setString(10, t.weights());
                p.setString(11, Instant.now().toString());
                p.setString(12, json);
                return p.executeUpdate();
            }
        });
    }

    // ---------------------------------------------------------------- transfers

    /** The transfer-matrix cell stored under key. */
    public synchronized Optional<TransferResult> transfer(String key) {
        requireText(key, "transfer key");
        return readOne("SELECT json FROM transfers WHERE key = ?", key, "transfer " + key, TransferResult::fromMap);
    }

    /** Like {@link #putCell} for a transfer-matrix cell. */
    public synchronized void putTransfer(String key, String runId, TransferResult t) {
        requireText(key, "transfer key");
        requireText(runId, "run id");
        if (t == null) throw new IllegalArgumentException("transfer " + key + ": result is null");
        String json = Json.write(t.toMap());
        write("store transfer " + key, () -> {
            requireRun(runId);
            try (PreparedStatement p = db.prepareStatement("""
                    INSERT OR IGNORE INTO transfers(key, run_id, dataset, attack, eps, source, target, samples,
                        target_clean_accuracy, target_robust_accuracy, seconds, created_at, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                p.setString(1, key);
                p.setString(2, runId);
                p.setString(3, t.dataset());
                p.setString(4, t.attack());
                setReal(p, 5, t.eps());
                p.setString(6, t.source());
                p.setString(7, t.target());
                p.setInt(8, t.samples());
                setReal(p, 9, t.targetCleanAccuracy());
                setReal(p, 10, t.targetRobustAccuracy());
                setReal(p, 11, t.seconds());
                p.setString(12, Instant.now().toString());
                p.setString(13, json);
                p.executeUpdate();
            }
            link("run_transfers", "transfer_key", runId, key);
            return 0;
        });
    }

    /** Like {@link #markUsed} for a transfer-matrix cell. */
    public synchronized void markTransferUsed(String runId, String key) {
        requireText(runId, "run id");
        requireText(key, "transfer key");
        write("mark transfer " + key + " used", () -> {
            requireRun(runId);
            if (!exists("SELECT 1 FROM transfers WHERE key = ?", key)) {
                throw new IllegalArgumentException(file + ": no stored transfer with key '" + key + "'");
            }
            link("run_transfers", "transfer_key", runId, key);
            return 0;
        });
    }

    /** The transfer cells run runId computed or reused, in order. */
    public synchronized List<TransferResult> transfers(String runId) {
        requireText(runId, "run id");
        return readList("SELECT t.key, t.json FROM run_transfers rt JOIN transfers t ON t.key = rt.transfer_key "
                + "WHERE rt.run_id = ? ORDER BY rt.seq", runId, "transfer ", TransferResult::fromMap);
    }

    // ---------------------------------------------------------------- detections

    /** The detection cell stored under key. */
    public synchronized Optional<DetectionCell> detection(String key) {
        requireText(key, "detection key");
        return readOne("SELECT json FROM detections WHERE key = ?", key, "detection " + key, DetectionCell::fromMap);
    }

    /** Like {@link #putCell} for a detection cell. */
    public synchronized void putDetection(String key, String runId, DetectionCell d) {
        requireText(key, "detection key");
        requireText(runId, "run id");
        if (d == null) throw new IllegalArgumentException("detection " + key + ": result is null");
        String json = Json.write(d.toMap());
        write("store detection " + key, () -> {
            requireRun(runId);
            try (PreparedStatement p = db.prepareStatement("""
                    INSERT OR IGNORE INTO detections(key, run_id, dataset, model, defense, detector, attack, eps, clean,
                        successful, auroc, tpr_at_5_fpr, adaptive_successful, adaptive_auroc, adaptive_tpr_at_5_fpr,
                        seconds, created_at, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                p.setString(1, key);
                p.setString(2, runId);
                p.setString(3, d.dataset());
                p.setString(4, d.model());
                p.setString(5, d.defense());
                p.setString(6, d.detector());
                p.setString(7, d.attack());
                setReal(p, 8, d.eps());
                p.setInt(9, d.standard().clean());
                p.setInt(10, d.standard().successful());
                setReal(p, 11, d.standard().aurocSuccessful());
                setReal(p, 12, d.standard().tprSuccessful());
                p.setInt(13, d.adaptive().successful());
                setReal(p, 14, d.adaptive().aurocSuccessful());
                setReal(p, 15, d.adaptive().tprSuccessful());
                setReal(p, 16, d.seconds());
                p.setString(17, Instant.now().toString());
                p.setString(18, json);
                p.executeUpdate();
            }
            link("run_detections", "detection_key", runId, key);
            return 0;
        });
    }

    /** Like {@link #markUsed} for a detection cell. */
    public synchronized void markDetectionUsed(String runId, String key) {
        requireText(runId, "run id");
        requireText(key, "detection key");
        write("mark detection " + key + " used", () -> {
            requireRun(runId);
            if (!exists("SELECT 1 FROM detections WHERE key = ?", key)) {
                throw new IllegalArgumentException(file + ": no stored detection with key '" + key + "'");
            }
            link("run_detections", "detection_key", runId, key);
            return 0;
        });
    }

    /** The detection cells run runId computed or reused, in order. */
    public synchronized List<DetectionCell> detections(String runId) {
        requireText(runId, "run id");
        return readList("SELECT d.key, d.json FROM run_detections rd JOIN detections d ON d.key = rd.detection_key "
                + "WHERE rd.run_id = ? ORDER BY rd.seq", runId, "detection ", DetectionCell::fromMap);
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public synchronized void close() {
        if (db == null) return;
        try {
            db.close();
        } catch (SQLException e) {
            throw new UncheckedIOException(new IOException(file + ": closing the results database: " + e.getMessage(), e));
        } finally {
            db = null;
        }
    }

    @FunctionalInterface
    private interface SqlWork {
        int run() throws SQLException;
    }

    /** Runs work as one write transaction, committed (and fsynced) before this returns. */
    private int write(String what, SqlWork work) {
        Connection c = open();
        try (Statement s = c.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            try {
                int n = work.run();
                s.execute("COMMIT");
                return n;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly(s, e);
                throw e;
            }
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    private void link(String table, String column, String runId, String key) throws SQLException {
        try (PreparedStatement p = db.prepareStatement(
                "INSERT OR IGNORE INTO " + table + "(run_id, " + column + ") VALUES (?, ?)")) {
            p.setString(1, runId);
            p.setString(2, key);
            p.executeUpdate();
        }
    }

    private void requireRun(String runId) throws SQLException {
        if (!exists("SELECT 1 FROM runs WHERE run_id = ?", runId)) throw unknownRun(runId);
    }

    private boolean exists(String sql, String arg) throws SQLException {
        try (PreparedStatement p = db.prepareStatement(sql)) {
            p.setString(1, arg);
            try (ResultSet r = p.executeQuery()) {
                return r.next();
            }
        }
    }

    private IllegalArgumentException unknownRun(String runId) {
        return new IllegalArgumentException(file + ": no run with id '" + runId + "' (run ids come from beginRun)");
    }

    private <T> Optional<T> readOne(String sql, String arg, String what, Function<Map<?, ?>, T> decode) {
        try (PreparedStatement p = open().prepareStatement(sql)) {
            p.setString(1, arg);
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) return Optional.empty();
                return Optional.of(parse(r.getString(1), what, decode));
            }
        } catch (SQLException e) {
            throw failure("read " + what, e);
        }
    }

    private <T> List<T> readList(String sql, String runId, String what, Function<Map<?, ?>, T> decode) {
        List<T> out = new ArrayList<>();
        try (PreparedStatement p = open().prepareStatement(sql)) {
            p.setString(1, runId);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) out.add(parse(r.getString(2), what + r.getString(1), decode));
            }
        } catch (SQLException e) {
            throw failure("read the " + what.strip() + "s of run " + runId, e);
        }
        return out;
    }

    private <T> T parse(String json, String what, Function<Map<?, ?>, T> decode) {
        Object v = Json.parse(json, file + " (" + what + ")");
        if (!(v instanceof Map<?, ?> m)) throw new IllegalArgumentException(file + " (" + what + "): stored JSON is not an object");
        return decode.apply(m);
    }

    private Connection open() {
        if (db == null) throw new IllegalStateException(file + ": results database is closed");
        return db;
    }

    private UncheckedIOException failure(String what, SQLException e) {
        return new UncheckedIOException(new IOException(file + ": " + what + ": " + e.getMessage(), e));
    }

    private static void setReal(PreparedStatement p, int i, double v) throws SQLException {
        // NULL like the JSON, rather than SQLite's own handling of NaN and infinities.
        if (Double.isFinite(v)) p.setDouble(i, v);
        else p.setNull(i, Types.REAL);
    }

    private static void requireText(String s, String what) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException(what + " is " + (s == null ? "null" : "empty"));
    }

    private static String queryString(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            return r.next() ? r.getString(1) : null;
        }
    }

    private static long queryLong(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            return r.next() ? r.getLong(1) : 0;
        }
    }

    private static boolean isNotADatabase(SQLException e) {
        return e instanceof SQLiteException se && se.getResultCode() == SQLiteErrorCode.SQLITE_NOTADB
                || e.getErrorCode() == SQLiteErrorCode.SQLITE_NOTADB.code;
    }

    private static void rollbackQuietly(Statement s, Throwable cause) {
        try {
            s.execute("ROLLBACK");
        } catch (SQLException e) {
            // SQLite may already have rolled back (e.g. after an I/O error); the cause is what matters.
            cause.addSuppressed(e);
        }
    }

    private static void closeQuietly(Connection c, Throwable cause) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }
}
