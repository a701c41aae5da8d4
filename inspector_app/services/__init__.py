"""Qt-free application services: batch prediction, the review log, projects, class mapping,
caches and file-list entries. They sit between the controllers/views (Qt) and the core
(Qt-free, torch-free domain layer); an import-linter contract keeps them free of Qt."""
