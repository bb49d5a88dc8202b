package org.advmia.defense.detect;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * An adversarial-example detector on a classifier's internal features. {@link #fit} learns
 * statistics of clean training inputs and a logistic-regression detector that separates clean
 * from adversarial fit inputs; {@link #score} is then the detector's log-odds that an input is
 * adversarial (higher = more adversarial). Everything is deterministic in the seed given at
 * construction.
 *
 * <p>The score is also available as a differentiable function of the input ({@link #score(Variable)}),
 * so that an adaptive attacker who knows the detector can descend it
 * ({@link AdaptiveDetectorAttack}).
 */
public interface Detector extends AutoCloseable {
    /** The registry name ({@link Detectors}). */
    String name();

    /**
     * Fits the detector for one model.
     *
     * @param trainX clean training inputs [N, C, H, W] for the feature statistics
     * @param trainY their labels [N]
     * @param clean clean fit inputs [M, C, H, W] (negatives)
     * @param adversarial adversarial fit inputs [K, C, H, W] (positives), crafted on the fit split
     */
    void fit(Model model, Tensor trainX, Tensor trainY, Tensor clean, Tensor adversarial);

    boolean isFitted();

    /** Per-input scores [N], higher = more adversarial. */
    double[] score(Tensor x);

    /**
     * The same score as a differentiable function of x, [N]. The model must already be in eval
     * mode with frozen parameters (as inside an attack). Non-differentiable selections (nearest
     * neighbours, closest class, predicted class) are held fixed at their current value, which
     * makes the score exactly differentiable almost everywhere.
     */
    Variable score(Variable x);

    /**
     * Writes the fitted detector to a safetensors file: its name, hyper-parameters and fitted state
     * as named float64 tensors, and the model it was fitted on (name, class count, input and feature
     * shapes, a fingerprint of its weights) as metadata. {@link Detectors#load} reads it back.
     */
    default void save(Path file) throws IOException {
        save(file, Map.of());
    }

    /** {@link #save(Path)} with notes on how it was fitted (attack, eps, ...), kept as string metadata. */
    void save(Path file, Map<String, String> notes) throws IOException;

    /**
     * Notes on the fit: after {@link #fit}, "fit_clean" and "fit_adversarial" (the fit set's sizes);
     * after a save or load also the notes saved with it.
     */
    Map<String, String> notes();

    /** Frees the fitted statistics held on the device. */
    @Override
    void close();
}
