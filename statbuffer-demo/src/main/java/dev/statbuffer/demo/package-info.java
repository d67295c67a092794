/**
 * The StatBuffer demo: a command-line program ({@link dev.statbuffer.demo.DemoCommand}) that
 * simulates page-view traffic, buffers it with StatBuffer, stores it through the JDBC or Redis
 * sink and verifies the totals it reads back.
 */
package dev.statbuffer.demo;
