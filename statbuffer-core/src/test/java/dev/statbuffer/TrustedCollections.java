package dev.statbuffer;

import java.util.ArrayList;
import java.util.List;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;

/**
 * The JDK collections the buffer's Lincheck tests trust: their operations run atomically under
 * the model checker, which keeps the search on the buffer's own races (and stops its loop
 * detector from mistaking a {@code ConcurrentHashMap} bin traversal for a livelock).
 */
final class TrustedCollections {
  private static final String MAP = "java.util.concurrent.ConcurrentHashMap";

  private TrustedCollections() {}

  /**
   * {@code options} with {@code ConcurrentHashMap} and the skip list of unsettled sequence numbers
   * (and {@code more} classes) treated as atomic.
   */
  static ModelCheckingOptions trusting(ModelCheckingOptions options, String... more) {
    List<String> classes = new ArrayList<>(List.of(MAP, MAP + "$KeySetView",
        MAP + "$ValuesView", MAP + "$CollectionView", MAP + "$KeyIterator",
        MAP + "$ValueIterator", MAP + "$BaseIterator", MAP + "$Traverser",
        "java.util.concurrent.ConcurrentSkipListSet", "java.util.concurrent.ConcurrentSkipListMap"));
    classes.addAll(List.of(more));
    return (ModelCheckingOptions) options.addGuarantee(ManagedStrategyGuaranteeKt
        .forClasses(classes.toArray(new String[0])).allMethods().treatAsAtomic());
  }
}
