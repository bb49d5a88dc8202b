package org.advmia.defense.detect;

/**
 * One detection cell: a detector fitted against one attack at one eps, measured on the test
 * inputs against that attack ({@code standard}) and against {@link AdaptiveDetectorAttack} at the
 * same eps ({@code adaptive}). fitClean/fitAdversarial count the fit inputs (clean inputs the
 * model classifies correctly, and their successful adversarial versions).
 */
public record DetectionResult(String detector, String attack, double eps, int fitClean, int fitAdversarial,
                              DetectionQuality standard, DetectionQuality adaptive, double seconds) {}
